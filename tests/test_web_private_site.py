"""read_requires_login: a private instance answers strangers with the log-in page (people)
or a 401 (programs), and serves members with a session or a personal API token."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperfeed.config import Settings
from paperfeed.store.community_schema import votes
from paperfeed.store.database import write_transaction
from paperfeed.store.users import set_user_disabled
from paperfeed.web.feeds.personal import personal_feed_path

from .factories import PASSWORD, Site, log_in, make_api_user, make_user, post

PAPER = "2503.11731"  # in the "web" corpus


@pytest.fixture
def site_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"read_requires_login": True})


def test_anonymous_people_are_sent_to_log_in(site: Site, client: TestClient) -> None:
    for path in ("/", "/trending?window=week", "/search?q=graph", f"/papers/{PAPER}",
                 "/collections", "/users/nobody", "/about", "/docs", "/no-such-page"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={quote(path, safe='/')}", path
    login = client.get("/login?next=" + quote("/search?q=graph", safe="/"))
    assert login.status_code == 200 and 'value="/search?q=graph"' in login.text
    # A form post is refused before it does anything.
    vote = client.post(f"/papers/{PAPER}/vote", data={"csrf_token": "x"},
                       follow_redirects=False)
    assert vote.status_code == 303 and vote.headers["location"] == "/login?next=/"
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(votes)).scalar_one() == 0


def test_anonymous_programs_get_a_401_with_a_json_error(client: TestClient) -> None:
    for path in ("/api/daily_papers", f"/api/papers/{PAPER}", "/api/papers/search?q=graph",
                 "/feeds/daily.atom", "/feeds/trending.atom", "/feeds/categories/cs.CV.atom",
                 f"/papers/{PAPER}.md", "/openapi.json", "/metrics", "/api/no-such-route"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "private" in response.json()["error"], path
        assert response.headers["www-authenticate"].startswith("Bearer"), path
    write = client.post(f"/api/papers/{PAPER}/vote")
    assert write.status_code == 401 and "private" in write.json()["error"]
    # A browser's CORS preflight carries no credentials and reads nothing: it passes, so
    # that a script elsewhere can then send its token.
    preflight = client.options("/api/daily_papers", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


def test_log_in_sign_up_reset_static_and_health_stay_open(site: Site, client: TestClient) -> None:
    for path in ("/login", "/signup", "/reset", "/static/style.css", "/static/favicon.svg",
                 "/healthz", "/readyz"):
        assert client.get(path, follow_redirects=False).status_code == 200, path
    # Bad email links get their own answer (400), not the log-in page.
    for path in ("/reset/not-a-token", "/verify/not-a-token", "/unsubscribe/not-a-token"):
        assert client.get(path, follow_redirects=False).status_code == 400, path
    # The whole sign-up journey works for a stranger, and ends logged in.
    signed_up = post(client, "/signup", {"username": "newbie", "email": "newbie@example.org",
                                         "password": PASSWORD}, page="/signup")
    assert signed_up.status_code == 200 and "Check your inbox" in signed_up.text
    url = site.outbox.last("verify_email", "newbie@example.org")["url"]
    link = url.replace("http://testserver", "")
    verified = post(client, link, page=link)  # the link's page: a button that POSTs
    assert verified.status_code == 303 and verified.headers["location"] == "/login?m=verified"
    assert client.get("/login?m=verified").status_code == 200
    log_in(client, "newbie@example.org")
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 200 and "newbie" in home.text
    # ... and so does a password reset.
    client.cookies.clear()
    asked = post(client, "/reset", {"email": "newbie@example.org"}, page="/reset")
    assert asked.status_code == 200
    reset = site.outbox.last("password_reset", "newbie@example.org")["url"]
    path = reset.replace("http://testserver", "")
    changed = post(client, path, {"password": "another long passphrase"}, page=path)
    assert changed.status_code == 303 and client.get("/").status_code == 200


def test_a_session_opens_pages_api_and_feeds(site: Site, client: TestClient) -> None:
    ada = make_user(site, "ada")
    log_in(client, "ada@example.org")
    for path in ("/", f"/papers/{PAPER}", "/api/daily_papers", "/feeds/daily.atom",
                 f"/papers/{PAPER}.md", "/openapi.json", "/settings"):
        assert client.get(path, follow_redirects=False).status_code == 200, path
    # Shared caches must not keep what only members may read.
    api = client.get("/api/daily_papers")
    assert api.headers["cache-control"].startswith("private"), api.headers["cache-control"]
    feed = client.get("/feeds/daily.atom")
    assert "public" not in feed.headers["cache-control"]
    with write_transaction(site.engine) as conn:  # a disabled account's session is dead
        set_user_disabled(conn, ada.id, True)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/daily_papers").status_code == 401


def test_a_bearer_token_opens_api_feeds_and_pages(site: Site, client: TestClient) -> None:
    ada = make_api_user(site, "ada")
    for path in ("/api/daily_papers", f"/api/papers/{PAPER}", "/feeds/daily.atom",
                 f"/papers/{PAPER}.md", "/metrics", "/"):
        response = client.get(path, headers=ada.auth, follow_redirects=False)
        assert response.status_code == 200, path
    voted = client.post(f"/api/papers/{PAPER}/vote", headers=ada.auth)
    assert voted.status_code == 200 and voted.json()["upvotes"] == 1
    for bad in ("pf_not-a-real-token", "", "nonsense"):
        response = client.get("/api/daily_papers", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert response.json()["error"] == "invalid or revoked API token"
    with write_transaction(site.engine) as conn:
        set_user_disabled(conn, ada.id, True)
    assert client.get("/api/daily_papers", headers=ada.auth).status_code == 401


def test_personal_feeds_keep_working_through_their_secret_url(site: Site,
                                                              client: TestClient) -> None:
    ada = make_user(site, "ada")
    path = personal_feed_path(site.settings.secret_key, ada.id, "ada")
    feed = client.get(path)
    assert feed.status_code == 200 and "<feed" in feed.text
    assert "public" not in feed.headers["cache-control"]
    # Only the right secret: a guessed one is the feed route's own 404.
    assert client.get("/feeds/users/ada/0123456789abcdef.atom").status_code == 404
    assert client.get("/feeds/users/ada/x/y.atom").status_code == 401
