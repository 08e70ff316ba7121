"""Deleting an account ("Delete my account" in settings, or `paperfeed users delete`: one
store function) removes what the account made and keeps every count consistent: paper vote
and comment counts, trending's events, and nobody else's data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed.cli import main
from paperfeed.store.comments import add_comment
from paperfeed.store.community_schema import (
    api_tokens,
    collection_items,
    collections,
    comments,
    sessions,
    submissions,
    users,
    votes,
)
from paperfeed.store.database import write_transaction
from paperfeed.store.events import paper_events
from paperfeed.store.follow_schema import follows, seen_papers
from paperfeed.store.mail_schema import recommendation_feedback, subscriptions
from paperfeed.store.schema import papers
from paperfeed.store.votes import set_vote

from .community_events import leave_footprint
from .factories import PASSWORD, Site, log_in, make_user, paper_ids, post

TABLES = {"votes": votes, "comments": comments, "collections": collections,
          "collection_items": collection_items, "submissions": submissions,
          "api_tokens": api_tokens, "sessions": sessions, "subscriptions": subscriptions,
          "recommendation_feedback": recommendation_feedback, "follows": follows,
          "seen_papers": seen_papers, "users": users}


def snapshot(engine: Engine) -> dict[str, Any]:
    """Paper counters, trending events and row counts, to compare before and after."""
    with engine.connect() as conn:
        counters = {r.id: (r.upvotes, r.num_comments) for r in conn.execute(
            select(papers.c.id, papers.c.upvotes, papers.c.num_comments))}
        events: dict[tuple[int, str], int] = {}
        for e in paper_events(conn, select(papers.c.id), dt.date(2000, 1, 1)):
            events[(e.paper_id, e.kind)] = events.get((e.paper_id, e.kind), 0) + e.count
        rows = {name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for name, t in TABLES.items()}
    return {"counters": counters, "events": events, "rows": rows}


def delete_by_web(site: Site, client: TestClient, name: str) -> None:
    log_in(client, f"{name}@example.org")
    done = post(client, "/settings/delete", {"confirm": name.upper(), "current": PASSWORD},
                page="/settings")
    assert done.status_code == 303 and done.headers["location"] == "/?m=account-deleted"
    assert "pf_session" not in client.cookies
    assert client.get("/settings", follow_redirects=False).status_code == 303  # logged out


def delete_by_cli(site: Site, client: TestClient, name: str) -> None:
    result = CliRunner().invoke(main, ["users", "delete", name,
                                       "--db", site.settings.database_url])
    assert result.exit_code == 0 and result.stdout == f"{name}: deleted\n", result.output


@pytest.mark.parametrize("delete", [delete_by_web, delete_by_cli], ids=["web", "cli"])
def test_deleting_an_account_keeps_every_count_consistent(site: Site, client: TestClient,
                                                          delete: Any) -> None:
    arxiv = paper_ids(site.engine)
    ada, bob = make_user(site, "ada"), make_user(site, "bob")
    mine = leave_footprint(site.engine, ada.id, arxiv[:5])
    theirs = leave_footprint(site.engine, bob.id, arxiv[5:10])
    with write_transaction(site.engine) as conn:  # bob on ada's papers too, replying to her
        set_vote(conn, bob.id, mine["a"], True)
        ada_comment = conn.execute(select(comments.c.id).where(
            comments.c.user_id == ada.id, comments.c.paper_id == mine["a"])).scalar_one()
        reply = add_comment(conn, mine["a"], bob.id, "me too", parent_id=ada_comment)
    with site.engine.connect() as conn:  # a followed category, and the digest's interest
        ada_follows = conn.execute(select(func.count()).select_from(follows).where(
            (follows.c.user_id == ada.id)
            | (follows.c.subscription_id == mine["subscription"]))).scalar_one()
    assert ada_follows >= 2
    before = snapshot(site.engine)
    delete(site, client, "ada")
    after = snapshot(site.engine)

    a, b = mine["a"], mine["b"]
    expected = dict(before["counters"])
    expected[a] = (before["counters"][a][0] - 1, before["counters"][a][1] - 1)
    expected[b] = (before["counters"][b][0] - 1, before["counters"][b][1])  # hidden: uncounted
    assert after["counters"] == expected
    # Trending reads its events from the rows: ada's vote, comment, save and submission are
    # gone from it, bob's are all there.
    gone = {(a, "vote"): 1, (b, "vote"): 1, (a, "comment"): 1, (mine["c"], "save"): 1,
            (a, "save"): 1, (mine["d"], "submission"): 1}
    for key, n in gone.items():
        assert after["events"].get(key, 0) == before["events"][key] - n, key
    assert after["events"][(a, "vote")] == after["events"][(a, "comment")] == 1  # bob's
    assert sum(after["events"].values()) == sum(before["events"].values()) - sum(gone.values())
    # Every row of ada's is gone, and only those.
    ada_rows = {"votes": 2, "comments": 2, "collections": 1, "collection_items": 2,
                "submissions": 1, "api_tokens": 1, "sessions": 1, "subscriptions": 1,
                "recommendation_feedback": 2, "users": 1, "seen_papers": 2,
                "follows": ada_follows}
    # (the web's log-in session came after the snapshot and went with the account)
    assert after["rows"] == {k: v - ada_rows[k] for k, v in before["rows"].items()}
    with site.engine.connect() as conn:
        # bob's reply stays (still counted above), now a thread of its own
        assert conn.execute(select(comments.c.parent_id, comments.c.root_id)
                            .where(comments.c.id == reply)).one() == (None, None)
        assert conn.execute(select(subscriptions.c.id)).scalars().all() == [
            theirs["subscription"]]
        assert conn.execute(select(users.c.username)).scalars().all() == ["bob"]


def test_deleting_asks_for_the_password_and_the_username(site: Site, client: TestClient) -> None:
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    before = snapshot(site.engine)
    for form, words in (({"confirm": "ada", "current": "wrong password!"}, "not right"),
                        ({"confirm": "bob", "current": PASSWORD}, "Type your username"),
                        ({"current": PASSWORD}, "Type your username")):
        refused = post(client, "/settings/delete", form, page="/settings")
        assert refused.status_code == 400 and words in refused.text
    assert snapshot(site.engine) == before


def test_the_last_active_admin_cannot_delete_their_account(site: Site, client: TestClient) -> None:
    make_user(site, "root", admin=True)
    log_in(client, "root@example.org")
    page = client.get("/settings")
    assert "your votes are removed" in page.text and "comments are removed" in page.text
    refused = post(client, "/settings/delete", {"confirm": "root", "current": PASSWORD},
                   page="/settings")
    assert refused.status_code == 400 and "root is the last active admin" in refused.text
    with site.engine.connect() as conn:
        assert conn.execute(select(users.c.username)).scalars().all() == ["root"]


def test_deleting_needs_a_session_and_a_form_from_this_site(site: Site, client: TestClient) -> None:
    make_user(site, "ada")
    anonymous = client.post("/settings/delete", data={"confirm": "ada", "current": PASSWORD},
                            follow_redirects=False)
    assert anonymous.status_code == 403  # no CSRF token
    log_in(client, "ada@example.org")
    forged = client.post("/settings/delete", data={"confirm": "ada", "current": PASSWORD},
                         follow_redirects=False)
    assert forged.status_code == 403
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 1
