"""Subscription pages: double opt-in, one-click unsubscribe (RFC 8058 POST, GET landing
page), preferences by token and in account settings, "not interested", /digest/preview and
the "For you" page. Everything escaped; GETs never change anything."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.mail.delivery import send_digests
from paperfeed.mail.mailer import MemoryMailer
from paperfeed.store.mail_schema import recommendation_feedback, subscriptions
from paperfeed.store.subscriptions import find_subscription

from .factories import CSRF_FIELD, build_site, csrf_of, deliver_mail, log_in, make_user
from .mail_corpus import DAY1, add_subscriber, mail_settings

pytestmark = pytest.mark.corpus("mail")


@pytest.fixture
def site_settings(settings):
    return mail_settings(settings, "memory://", base_url="http://testserver")


@pytest.fixture
def web(site, client) -> tuple[TestClient, object, MemoryMailer]:
    mailer = site.app.state.mailer  # the app's own, built once by create_app
    assert isinstance(mailer, MemoryMailer)
    return client, site.settings, mailer


@pytest.fixture
def deliver(site):
    """Send what the site queued in its outbox, now (the app's background sender would)."""
    return lambda: deliver_mail(site)


def status_of(engine, email: str) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(subscriptions.c.status).where(subscriptions.c.email == email)
        ).scalar()


def link_in(message, prefix: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"{re.escape(prefix)}\S+", text).group(0)


def test_double_opt_in_then_one_click_unsubscribe(web, engine, deliver):
    client, cfg, mailer = web
    token = csrf_of(client, "/subscribe")
    page = client.post("/subscribe", data={
        "csrf_token": token, "email": "Reader@Example.org",
        "interests": "long context attention\n<script>x</script>",
        "frequency": "daily", "content": "both", "max_papers": "5"})
    assert page.status_code == 200 and "Check your inbox" in page.text
    assert status_of(engine, "reader@example.org") == "pending"
    deliver()
    (confirmation,) = mailer.messages
    assert confirmation["To"] == "reader@example.org"
    assert "&lt;script&gt;x&lt;/script&gt;" in confirmation.get_body(("html",)).get_content()
    url = link_in(confirmation, "http://testserver/subscribe/confirm/")
    path = url.removeprefix("http://testserver")
    landing = client.get(path)
    assert landing.status_code == 200 and "Confirm subscription" in landing.text
    assert status_of(engine, "reader@example.org") == "pending"  # a GET changes nothing
    done = client.post(path)
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert status_of(engine, "reader@example.org") == "active"

    report = send_digests(engine, cfg, mailer, HashingEmbedder(), day=DAY1)
    assert report.sent == 1
    digest = mailer.messages[-1]
    one_click = re.search(r"<(http://testserver/unsubscribe/[^>]+)>",
                          digest["List-Unsubscribe"]).group(1)
    path = one_click.removeprefix("http://testserver")
    assert "Unsubscribe" in client.get(path).text
    assert status_of(engine, "reader@example.org") == "active"
    fresh = TestClient(client.app)  # the mail provider: no cookies, no CSRF token
    response = fresh.post(path, content=b"List-Unsubscribe=One-Click",
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and "unsubscribed" in response.text
    assert status_of(engine, "reader@example.org") == "unsubscribed"


def test_same_answer_for_subscribed_addresses_and_no_takeover(web, engine, deliver):
    client, _, mailer = web
    add_subscriber(engine, "known@example.org", "protein structure")
    token = csrf_of(client, "/subscribe")
    page = client.post("/subscribe", data={"csrf_token": token, "email": "known@example.org",
                                           "interests": "something else"})
    deliver()
    assert "Check your inbox" in page.text and not mailer.messages
    with engine.connect() as conn:
        interests = find_subscription(conn, email="known@example.org").prefs.interests
    assert interests == ["protein structure"]
    bad = client.post("/subscribe", data={"csrf_token": token, "email": "not-an-address"})
    assert bad.status_code == 422 and "not an email address" in bad.text
    assert client.post("/subscribe", data={"email": "x@example.org"}).status_code == 403  # CSRF


def test_forged_or_expired_tokens_are_refused(web):
    client, _, _ = web
    assert client.post("/unsubscribe/forged.token").status_code == 400
    assert client.get("/subscription/forged").status_code == 400
    assert client.post("/subscribe/confirm/forged").status_code == 400


def test_manage_preferences_and_not_interested_by_token(web, engine):
    client, cfg, mailer = web
    add_subscriber(engine, "a@example.org", "long context attention", content="personal")
    send_digests(engine, cfg, mailer, HashingEmbedder(), day=DAY1)
    html = mailer.messages[-1].get_body(("html",)).get_content()
    manage = re.search(r'href="http://testserver(/subscription/[^"]+)"', html).group(1)
    token = csrf_of(client, manage)
    saved = client.post(manage, data={"csrf_token": token, "interests": "protein structure",
                                      "frequency": "weekly", "content": "both",
                                      "muted_keywords": "survey, benchmark", "max_papers": "7"})
    assert saved.status_code == 200 and "Your preferences are saved" in saved.text
    with engine.connect() as conn:
        row = conn.execute(select(subscriptions)).one()
        interests = find_subscription(conn, email="a@example.org").prefs.interests
    assert (row.frequency, interests, row.muted_keywords, row.max_papers) == (
        "weekly", ["protein structure"], ["survey", "benchmark"], 7)
    not_interested = re.search(r'href="http://testserver(/not-interested/[^"]+)"', html).group(1)
    not_interested = not_interested.replace("&amp;", "&")
    assert client.get(not_interested).status_code == 200
    path, _, query = not_interested.partition("?paper=")
    assert client.post(path, data={"paper": query}).status_code == 200
    with engine.connect() as conn:
        subjects = conn.execute(select(recommendation_feedback.c.subject)).scalars().all()
        assert subjects == [f"sub:{row.id}"]


def _log_in(client: TestClient, engine, verified: bool = True) -> int:
    user = make_user(engine, "ada", verified=verified)
    log_in(client, "ada@example.org")
    return user.id


def test_logged_in_settings_preview_and_for_you(web, engine, deliver):
    client, _, mailer = web
    assert client.get("/for-you", follow_redirects=False).status_code in (302, 303)
    user_id = _log_in(client, engine)
    token = csrf_of(client, "/settings/subscription")
    saved = client.post("/settings/subscription", data={
        "csrf_token": token, "interests": "long context attention", "frequency": "daily",
        "content": "both", "authors": "Grace Hopper", "max_papers": "6"})
    assert saved.status_code == 200 and "Your preferences are saved" in saved.text
    deliver()
    assert status_of(engine, "ada@example.org") == "active" and not mailer.messages
    with engine.connect() as conn:
        assert conn.execute(select(subscriptions.c.user_id)).scalar() == user_id
    preview = client.get("/digest/preview")
    assert preview.status_code == 200 and "Picked for you" in preview.text
    assert "<script" not in preview.text.lower()
    page = client.get("/for-you")
    assert page.status_code == 200 and "matches your saved search" in page.text
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    first = re.search(r'name="paper" value="([^"]+)"', page.text).group(1)
    client.post("/for-you/not-interested", data={"csrf_token": token, "paper": first})
    assert f'value="{first}"' not in client.get("/for-you").text


def test_without_the_model_for_you_and_the_preview_degrade_like_search(settings, corpus,
                                                                       tmp_path):
    """When the embedding model cannot load, /for-you shows the week's trending papers and
    says so (as the personal feed does), the digest preview says it is unavailable, and
    search runs on keywords: no 500 anywhere."""
    cfg = mail_settings(settings, "memory://", base_url="http://testserver")
    app = build_site(cfg, corpus, embedding_backend="torch",
                     embedding_model=str(tmp_path / "no-model")).app
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            _log_in(client, corpus)
            page = client.get("/for-you")
            assert page.status_code == 200, page.text
            assert "Personal ranking is not available" in page.text
            listed = re.findall(r'name="paper" value="([^"]+)"', page.text)
            assert listed and page.text.count("trending this week") == len(listed)
            preview = client.get("/digest/preview")
            assert preview.status_code == 200 and "No preview right now" in preview.text
            search = client.get("/search", params={"q": "attention"})
            assert search.status_code == 200 and 'class="card' in search.text
            assert client.get("/api/papers/search", params={"q": "attention"}).json()
    finally:
        app.state.engine.dispose()


def test_subscribe_is_rate_limited_per_address(web, deliver):
    client, _, mailer = web
    token = csrf_of(client, "/subscribe")
    form = {"csrf_token": token, "email": "victim@example.org"}
    codes = [client.post("/subscribe", data=form).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    deliver()
    assert len(mailer.messages) == 5
