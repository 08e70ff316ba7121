"""Follows, the one model behind the follow buttons, the "Following" page and the digest
form: store rules (idempotent, limits, filters kept, owners), the buttons on author /
category / search pages, For you / digest / personal feed reasons, and migration 0016
carrying old subscription preferences over."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.rank.profiles import recommend_for_user
from paperfeed.store.account_export import export_account
from paperfeed.store.database import open_engine, write_transaction
from paperfeed.store.follow_schema import follows
from paperfeed.store.follows import (
    LIMITS,
    InvalidFollow,
    Owner,
    add_follow,
    list_follows,
    set_follows,
)
from paperfeed.store.migrate import alembic_config, upgrade_database
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import Preferences, find_subscription, upsert_subscription
from paperfeed.store.users import delete_user
from paperfeed.web.feeds.personal import personal_feed_path

from .factories import CSRF_FIELD, csrf_of, log_in, make_user
from .mail_corpus import DAY1, add_subscriber, mail_settings

pytestmark = pytest.mark.corpus("mail")
E = HashingEmbedder()


@pytest.fixture
def site_settings(settings):
    return mail_settings(settings, "memory://", base_url="http://testserver")


def _follow(client: TestClient, page: str, **data: str):
    token = csrf_of(client, page)
    return client.post("/following", data={"csrf_token": token, "next": page, **data},
                       follow_redirects=False)


# --- store ----------------------------------------------------------------------------

def test_follows_are_idempotent_limited_and_keep_a_search_s_filters(engine: Engine) -> None:
    user = make_user(engine, "ada")
    owner = Owner(user_id=user.id)
    with write_transaction(engine) as conn:
        first = add_follow(conn, owner, "author", "  Grace   Hopper ")
        assert add_follow(conn, owner, "author", "grace hopper").id == first.id
        add_follow(conn, owner, "search", "graph networks", {"category": "cs.LG", "mode": "x"})
        with pytest.raises(InvalidFollow):
            add_follow(conn, owner, "planet", "Mars")
        with pytest.raises(InvalidFollow):
            add_follow(conn, owner, "category", "   ")
        for i in range(LIMITS["search"] - 1):
            add_follow(conn, owner, "search", f"topic {i}")
        with pytest.raises(InvalidFollow, match="at most"):
            add_follow(conn, owner, "search", "one too many")
        # The digest form edits the same rows as text lines: a kept line keeps its filters.
        set_follows(conn, owner, "search", ["Graph networks", "new topic"])
        searches = list_follows(conn, owner, "search")
    with engine.connect() as conn:
        exported = export_account(conn, user.id)["following"]  # "download my data"
    assert [(f["kind"], f["value"]) for f in exported] == [
        ("author", "Grace Hopper"), ("search", "graph networks"), ("search", "new topic")]
    assert first.value == "Grace Hopper"
    assert [(f.value, f.filters) for f in searches] == [
        ("graph networks", {"category": "cs.LG"}), ("new topic", {})]
    assert searches[0].label == "‘graph networks’ in cs.LG"
    assert searches[0].url == "/search?q=graph+networks&category=cs.LG"


def test_a_linked_subscription_uses_the_account_s_follows(engine: Engine) -> None:
    sub_id = add_subscriber(engine, "ada@example.org", "protein structure",
                            authors=["Alan Turing"])
    with engine.connect() as conn:
        alone = find_subscription(conn, email="ada@example.org")
    assert alone.owner == Owner(subscription_id=sub_id)
    user = make_user(engine, "ada")
    with write_transaction(engine) as conn:
        add_follow(conn, Owner(user_id=user.id), "category", "cs.RO")
        # Linking (the settings page does it) hands the subscription's follows to the account;
        # a form without follow fields (the home page's box) changes none of them.
        upsert_subscription(conn, "ada@example.org", Preferences(), user_id=user.id,
                            confirmed=True, follows=False)
        linked = find_subscription(conn, email="ada@example.org")
        mine = list_follows(conn, Owner(user_id=user.id))
        assert list_follows(conn, Owner(subscription_id=sub_id)) == []
    assert linked.owner == Owner(user_id=user.id)
    assert (linked.prefs.interests, linked.prefs.authors, linked.prefs.categories) == (
        ["protein structure"], ["Alan Turing"], ["cs.RO"])
    assert {f.value for f in mine} == {"protein structure", "Alan Turing", "cs.RO"}
    with write_transaction(engine) as conn:
        delete_user(conn, user.id)  # the account's subscription and follows go with it
        assert find_subscription(conn, email="ada@example.org") is None
        assert conn.execute(select(follows.c.id)).all() == []


# --- ranking --------------------------------------------------------------------------

def test_each_kind_of_follow_feeds_for_you_with_its_reason(corpus: Engine) -> None:
    engine = corpus
    user = make_user(engine, "ada")
    owner = Owner(user_id=user.id)
    with write_transaction(engine) as conn:
        add_follow(conn, owner, "author", "grace HOPPER")  # robot grasping, cs.RO
        add_follow(conn, owner, "category", "cs.CV")  # image segmentation
        add_follow(conn, owner, "search", "protein structure prediction diffusion",
                   {"category": "q-bio.BM"})
    with engine.connect() as conn:
        items = recommend_for_user(conn, user.id, E, as_of=DAY1, days=1, limit=8)
    reasons = {i.card.arxiv_id: i.reason for i in items if i.section == "personal"}
    assert reasons["2608.00007"] == "by an author you follow: grace HOPPER"
    assert reasons["2608.00005"] == "new in cs.CV, a category you follow"
    assert reasons["2608.00002"] == (
        "matches your saved search ‘protein structure prediction diffusion’ in q-bio.BM")


def test_a_mail_only_digest_ranks_with_its_saved_search_filters(corpus: Engine,
                                                                settings) -> None:
    """The digest of a subscriber without an account: its own follows, and a saved
    search's category filter limits what that search may bring."""
    from paperfeed.mail.digest import DigestBuilder, period_for

    sub_id = add_subscriber(corpus, "mail@example.org", content="personal")
    with write_transaction(corpus) as conn:
        add_follow(conn, Owner(subscription_id=sub_id), "search", "attention long context",
                   {"category": "cs.CL"})
        add_follow(conn, Owner(subscription_id=sub_id), "category", "cs.RO")
    cfg = mail_settings(settings)
    with corpus.connect() as conn:
        sub = find_subscription(conn, email="mail@example.org")
        digest = DigestBuilder(conn, cfg, E, period_for("daily", DAY1)).build(conn, [sub])[0]
        arxiv = dict(conn.execute(select(papers.c.id, papers.c.arxiv_id)).all())
    reasons = {arxiv[r.paper_id]: r.reason for r in digest.picks}
    assert reasons["2608.00001"] == (
        "matches your saved search ‘attention long context’ in cs.CL")
    assert reasons["2608.00007"] == "new in cs.RO, a category you follow"
    assert all(r.startswith(("matches", "new in cs.RO")) for r in reasons.values())


# --- pages ----------------------------------------------------------------------------

def test_follow_an_author_then_for_you_and_the_personal_feed_say_why(site, client) -> None:
    user = make_user(site, "ada")
    page = "/authors/Grace%20Hopper"
    assert "Log in to follow this author" in client.get(page).text
    log_in(client, "ada@example.org")
    assert "Follow this author" in client.get(page).text
    done = _follow(client, page, kind="author", value="Grace Hopper")
    assert done.status_code == 303 and done.headers["location"] == page + "?m=followed"
    shown = client.get(page).text
    assert "✓ Following" in shown and "Unfollow this author" in shown
    for_you = client.get("/for-you?days=30").text
    assert "by an author you follow: Grace Hopper" in for_you
    feed = client.get(personal_feed_path(site.settings.secret_key, user.id, "ada"))
    assert feed.status_code == 200 and "by an author you follow: Grace Hopper" in feed.text
    listed = client.get("/following").text
    assert 'href="/authors/Grace%20Hopper"' in listed
    # The digest form shows (and edits) the same follow.
    assert "Grace Hopper</textarea>" in client.get("/settings/subscription").text


def test_follow_a_category_and_a_search_with_filters_then_unfollow(site, client) -> None:
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    assert _follow(client, "/categories/cs.RO", kind="category",
                   value="cs.RO").status_code == 303
    search = "/search?q=protein+structure&category=q-bio.BM&mode=keyword"
    assert "Follow this search" in client.get(search).text
    assert _follow(client, search, kind="search", value="protein structure",
                   category="q-bio.BM").status_code == 303
    assert "✓ Following" in client.get(search).text
    assert "Follow this search" in client.get("/search?q=protein+structure&mode=keyword").text
    listed = client.get("/following").text
    assert "‘protein structure’ in q-bio.BM" in listed and ">cs.RO</a>" in listed
    ids = re.findall(r'action="/following/(\d+)/delete"', listed)
    token = CSRF_FIELD.search(listed).group(1)
    gone = client.post(f"/following/{ids[0]}/delete",
                       data={"csrf_token": token, "next": "/following"}, follow_redirects=False)
    assert gone.status_code == 303
    assert len(re.findall(r'action="/following/(\d+)/delete"',
                          client.get("/following").text)) == len(ids) - 1


def test_follow_forms_refuse_bad_input_other_people_and_missing_csrf(site, client) -> None:
    bob = make_user(site, "bob")
    with write_transaction(site.engine) as conn:
        bobs = add_follow(conn, Owner(user_id=bob.id), "author", "Alan Turing")
    anonymous = client.post("/following", data={"kind": "author", "value": "X"},
                            follow_redirects=False)
    assert anonymous.status_code in (303, 403)
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    assert client.post("/following", data={"kind": "author", "value": "X"}).status_code == 403
    for bad in ({"kind": "planet", "value": "Mars"}, {"kind": "category", "value": "not a cat"},
                {"kind": "search", "value": ""}):
        response = _follow(client, "/following", **bad)
        assert response.status_code == 422 and 'role="alert"' in response.text, bad
    too_long = _follow(client, "/following", kind="author", value="x" * 3000)
    assert too_long.status_code in (400, 422)
    token = csrf_of(client, "/following")
    client.post(f"/following/{bobs.id}/delete", data={"csrf_token": token})
    assert client.post(f"/following/{2**63}/delete", data={"csrf_token": token}
                       ).status_code in (400, 422)
    with site.engine.connect() as conn:
        assert [f.id for f in list_follows(conn, Owner(user_id=bob.id))] == [bobs.id]
    escaped = _follow(client, "/following", kind="search", value="<script>x</script>")
    assert escaped.status_code == 303
    assert "&lt;script&gt;x&lt;/script&gt;" in client.get("/following").text


# --- migration 0016 --------------------------------------------------------------------

def test_migration_carries_subscription_preferences_into_follows(new_database) -> None:
    engine = open_engine(new_database(migrated=False))
    cfg = alembic_config()
    try:
        with write_transaction(engine) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0010_users")
        now = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
        with write_transaction(engine) as conn:
            conn.execute(text(
                "INSERT INTO users (id, username, email, password_hash, created_at) "
                "VALUES (7, 'ada', 'ada@example.org', 'x', :now)"), {"now": now})
            for sub_id, email, user_id, interests, authors, cats in (
                (1, "ada@example.org", 7, '["protein structure"]', '["Grace Hopper"]',
                 '["cs.RO", " "]'),
                (2, "mail@example.org", None, '["graph networks", "speech"]', "[]", "[]"),
                (3, "gone@example.org", 99, "[]", '["Alan Turing"]', "[]"),
            ):
                conn.execute(text(
                    "INSERT INTO subscriptions (id, email, user_id, status, interests, authors,"
                    " include_categories, exclude_categories, muted_keywords, created_at,"
                    " updated_at) VALUES (:id, :email, :user_id, 'active', :interests,"
                    " :authors, :cats, '[]', '[]', :now, :now)"),
                    {"id": sub_id, "email": email, "user_id": user_id, "interests": interests,
                     "authors": authors, "cats": cats, "now": now})
        upgrade_database(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(follows.c.user_id, follows.c.subscription_id,
                                       follows.c.kind, follows.c.value, follows.c.filters)
                                ).all()
            columns = {c["name"] for c in inspect(conn).get_columns("subscriptions")}
            ada = find_subscription(conn, email="ada@example.org")
    finally:
        engine.dispose()
    assert sorted((tuple(r) for r in rows), key=repr) == sorted([
        (7, None, "author", "Grace Hopper", {}),
        (None, 3, "author", "Alan Turing", {}),  # its user is gone: the subscription owns it
        (7, None, "category", "cs.RO", {}),
        (None, 2, "search", "graph networks", {}),
        (7, None, "search", "protein structure", {}),
        (None, 2, "search", "speech", {}),
    ], key=repr)
    assert not columns & {"interests", "authors", "include_categories"}
    assert ada is not None and ada.prefs.authors == ["Grace Hopper"]


def test_migration_0016_downgrades_and_upgrades_again(new_database) -> None:
    engine = open_engine(new_database())
    try:
        with write_transaction(engine) as conn:
            upsert_subscription(conn, "a@example.org", Preferences(
                interests=["x y"], authors=["Ada"], categories=["cs.CL"]), confirmed=True)
        cfg = alembic_config()
        with write_transaction(engine) as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0016_follows@-1")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT interests, authors, include_categories "
                                     "FROM subscriptions")).one()
            assert "follows" not in inspect(conn).get_table_names()
        upgrade_database(engine)
        with engine.connect() as conn:
            again = find_subscription(conn, email="a@example.org")
    finally:
        engine.dispose()
    assert [v if isinstance(v, list) else json.loads(v) for v in back] == [
        ["x y"], ["Ada"], ["cs.CL"]]
    assert (again.prefs.interests, again.prefs.authors, again.prefs.categories) == (
        ["x y"], ["Ada"], ["cs.CL"])
