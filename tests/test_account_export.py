""""Download my data": one JSON file with everything the account holds (profile, votes,
comments, collections, submissions, subscription, preferences), nobody else's data, and no
secret (password hash, token or session values)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.store.community_schema import api_tokens, users
from paperfeed.store.database import write_transaction
from paperfeed.store.follows import Owner, add_follow
from paperfeed.store.tokens import create_token

from .community_events import leave_footprint
from .factories import Site, log_in, make_user, paper_ids


def test_the_export_holds_the_whole_account_and_nothing_else(site: Site,
                                                             client: TestClient) -> None:
    arxiv = paper_ids(site.engine)
    ada, bob = make_user(site, "ada"), make_user(site, "bob")
    leave_footprint(site.engine, ada.id, arxiv[:5])
    leave_footprint(site.engine, bob.id, arxiv[5:10])
    with write_transaction(site.engine) as conn:
        secret, _ = create_token(conn, ada.id, "second <token>")
        add_follow(conn, Owner(user_id=ada.id), "author", "Grace Hopper")
        ada_hash = conn.execute(select(users.c.password_hash)
                                .where(users.c.id == ada.id)).scalar_one()
        token_hash = conn.execute(select(api_tokens.c.token_hash)
                                  .where(api_tokens.c.user_id == ada.id)).scalars().first()
    log_in(client, "ada@example.org")
    response = client.get("/settings/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == 'attachment; filename="paperfeed-ada.json"'
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    a, b, c, d, e = arxiv[:5]
    assert set(data) == {"format", "version", "exported_at", "profile", "votes", "comments",
                         "collections", "submissions", "subscription", "preferences",
                         "following", "seen", "api_tokens", "sessions"}
    assert data["format"] == "paperfeed-account-export" and data["version"] == 1
    profile = data["profile"]
    assert (profile["username"], profile["email"], profile["id"]) == (
        "ada", "ada@example.org", ada.id)
    assert profile["email_verified"] is True and profile["admin"] is False
    assert sorted(v["paper"] for v in data["votes"]) == sorted([a, b])
    assert all(v["title"] and v["voted_at"] for v in data["votes"])
    assert [(c_["paper"], c_["body"], c_["hidden_by_admin"], c_["in_reply_to"])
            for c_ in data["comments"]] == [(a, "ada likes this", False, None),
                                            (b, "off-topic", True, None)]
    (collection,) = data["collections"]
    assert (collection["name"], collection["description"], collection["public"]) == (
        "To read", "later", False)
    assert [p["paper"] for p in collection["papers"]] == [c, a]  # in the collection's order
    assert [p["note"] for p in collection["papers"]] == ["", ""]
    assert [(s["paper"], s["feed_day"]) for s in data["submissions"]] == [(d, "2025-03-20")]
    assert ("author", "Grace Hopper") in [(f["kind"], f["value"]) for f in data["following"]]
    assert data["subscription"]["email"] == "ada@example.org"
    assert data["subscription"]["status"] == "active"
    assert data["preferences"]["digest"]["interests"] == ["graphs"]
    assert data["preferences"]["not_interested"] == [e]
    assert data["preferences"]["notifications"] == {
        "email_replies": True, "email_mentions": True, "email_submissions": True,
        "email_batch": "instant"}
    assert sorted(t["name"] for t in data["api_tokens"]) == ["laptop", "second <token>"]
    assert len(data["sessions"]) == 2  # the footprint's and this log-in's
    # No secret leaves, and nothing of bob's.
    body = response.text
    for never in (secret, ada_hash, token_hash, client.cookies["pf_session"], "bob@",
                  "bob likes this",
                  *arxiv[5:10]):
        assert never not in body


def test_an_account_with_nothing_exports_empty_lists(site: Site, client: TestClient) -> None:
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    data = client.get("/settings/export").json()
    assert [data[k] for k in ("votes", "comments", "collections", "submissions",
                              "api_tokens")] == [[], [], [], [], []]
    assert data["subscription"] is None
    assert data["preferences"]["digest"] is None
    assert data["preferences"]["not_interested"] == []


def test_the_export_needs_a_session(client: TestClient) -> None:
    response = client.get("/settings/export", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings/export"
