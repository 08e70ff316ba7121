"""One test per security promise: each fails if the protection is removed."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.config import load_settings
from paperfeed.store.comments import add_comment
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.web.ratelimit import LIMITS

from .factories import PASSWORD, Site, csrf_of, log_in, make_user, post


def test_state_changing_forms_need_the_csrf_token(site: Site, client: TestClient) -> None:
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    for path, data in [("/papers/2503.11742/vote", {}),
                       ("/papers/2503.11742/comments", {"body": "hi"}),
                       ("/collections", {"name": "x"}),
                       ("/submit", {"paper": "2503.11742"}),
                       ("/settings/tokens", {"name": "x"}),
                       ("/logout", {})]:
        missing = client.post(path, data=data, follow_redirects=False)
        forged = client.post(path, data={**data, "csrf_token": "f" * 40}, follow_redirects=False)
        assert missing.status_code == 403 and forged.status_code == 403, path
    with site.engine.connect() as conn:
        assert conn.execute(select(papers.c.upvotes).where(
            papers.c.arxiv_id == "2503.11742")).scalar_one() == 0
    # The log-in form itself is protected too (login CSRF).
    anonymous = TestClient(site.app)
    assert anonymous.post("/login", data={"email": "alice@example.org",
                                          "password": PASSWORD}).status_code == 403


def test_session_cookie_is_httponly_and_samesite(site: Site, client: TestClient) -> None:
    make_user(site, "bob")
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"email": "bob@example.org", "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith("pf_session=")]
    assert cookie and "HttpOnly" in cookie[0] and "SameSite=lax" in cookie[0]
    csrf = client.get("/").headers.get_list("set-cookie")
    fresh = TestClient(site.app).get("/").headers.get_list("set-cookie")
    assert any("pf_csrf=" in h and "HttpOnly" in h for h in fresh), (csrf, fresh)


def test_script_in_paper_text_stays_inert(client: TestClient) -> None:
    for url in ("/", "/papers/2503.99901", "/categories/cs.CR", "/?week=2025-W12"):
        text = client.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text, url
        assert "<b>Mallory</b>" not in text and "<i>see</i>" not in text, url
    page = client.get("/papers/2503.99901").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Eve &lt;b&gt;Mallory&lt;/b&gt;" in page
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/katex/katex.min.js" defer>',
        '<script src="/static/katex/contrib/auto-render.min.js" defer>',
        '<script src="/static/math.js" defer>',
        '<script src="/static/app.js" defer>',
    ] or all("src=\"/static/" in s for s in re.findall(r"<script[^>]*>", page))


def test_comments_are_escaped_and_only_http_links_are_linked(
    site: Site, client: TestClient
) -> None:
    alice = make_user(site, "alice")
    with write_transaction(site.engine) as conn:
        pid = conn.execute(
            select(papers.c.id).where(papers.c.arxiv_id == "2503.11742")
        ).scalar_one()
        add_comment(conn, pid, alice.id, '<script>alert("c")</script> javascript:alert(1) '
                    'see https://example.org/a?b=1&c="x" now')
    page = client.get("/papers/2503.11742").text
    assert '<script>alert("c")' not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    # Markdown: the quotes stay inside the link, percent-encoded in its href
    assert '<a href="https://example.org/a?b=1&amp;c=%22x%22" rel="nofollow ugc noopener">' in page


def test_pages_allow_no_inline_or_foreign_scripts(client: TestClient) -> None:
    response = client.get("/papers/2503.99901")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["x-frame-options"] == "DENY"
    # No external requests: every script, stylesheet and font is served by the site.
    for url in ("/", "/papers/2503.99901", "/search?q=attention", "/login"):
        text = client.get(url).text
        for ref in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', text):
            assert ref.startswith("/"), (url, ref)
    css = client.get("/static/katex/katex.min.css").text
    assert "url(fonts/KaTeX_Main-Regular.woff2)" in css
    assert client.get("/static/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200


@pytest.mark.parametrize("bucket", ["login", "signup"])
def test_login_and_signup_are_rate_limited(site: Site, client: TestClient, bucket: str) -> None:
    limit = LIMITS[bucket][0]
    token = csrf_of(client, f"/{bucket}")
    # one client, many addresses: the per-client budget (accounts have their own limits,
    # tests/security/test_lockout_resistance.py)
    codes = [client.post(f"/{bucket}", data={
        "email": f"x{i}@example.org", "password": "wrong password", "csrf_token": token,
        "username": f"someone{i}"}).status_code for i in range(limit + 1)]
    assert codes[-1] == 429 and 429 not in codes[:-1]


def test_votes_comments_and_submissions_are_rate_limited(site: Site, client: TestClient) -> None:
    make_user(site, "carol")
    log_in(client, "carol@example.org")
    token = csrf_of(client, "/")
    headers = {"accept": "application/json"}
    votes = [client.post("/papers/2503.11742/vote", data={"csrf_token": token},
                         headers=headers).status_code for _ in range(LIMITS["vote"][0] + 1)]
    assert votes[-1] == 429 and set(votes[:-1]) == {200}
    comments = [client.post("/papers/2503.11742/comments", data={"csrf_token": token,
                "body": f"comment {i}"}, follow_redirects=False).status_code
                for i in range(LIMITS["comment"][0] + 1)]
    assert comments[-1] == 429 and set(comments[:-1]) == {303}
    submits = [client.post("/submit", data={"csrf_token": token, "paper": "2503.11742"}
                           ).status_code for _ in range(LIMITS["submit"][0] + 1)]
    assert submits[-1] == 429 and 429 not in submits[:-1]


def test_production_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        load_settings(environment="production", secret_key="")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        load_settings(environment="production", secret_key="short")
    assert load_settings(environment="production", secret_key="k" * 40,
                         smtp_url="smtp://mail.example.org:587").secret_key == "k" * 40


def test_signed_links_cannot_be_forged_or_reused_for_another_purpose(
    site: Site, client: TestClient
) -> None:
    from paperfeed.store.users import password_fingerprint
    from paperfeed.web.security import SignedLinks

    user = make_user(site, "dora", verified=False)
    links = site.app.state.links
    with site.engine.connect() as conn:
        fingerprint = password_fingerprint(conn, user.id)
    verify = links.verify_token(user.id, user.email, fingerprint)
    assert client.get(f"/verify/{verify}").status_code == 200  # the genuine link works
    assert client.get(f"/reset/{verify}").status_code == 400  # wrong salt
    assert client.get(f"/verify/{verify[:-2]}xx").status_code == 400  # tampered
    other = SignedLinks("another-secret-" + "y" * 32).verify_token(user.id, user.email,
                                                                   fingerprint)
    assert client.get(f"/verify/{other}").status_code == 400


def test_disabled_users_are_logged_out_and_cannot_log_in(site: Site, client: TestClient) -> None:
    make_user(site, "boss", admin=True)
    make_user(site, "mallory")
    victim = TestClient(site.app)
    log_in(victim, "mallory@example.org")
    log_in(client, "boss@example.org")
    assert post(client, "/admin/users/mallory", {"action": "disable"}, page="/admin"
                ).status_code == 303
    assert "mallory" not in victim.get("/settings", follow_redirects=False).text
    assert victim.get("/settings", follow_redirects=False).status_code == 303
    token = csrf_of(victim, "/login")
    again = victim.post("/login", data={"email": "mallory@example.org", "password": PASSWORD,
                                        "csrf_token": token})
    assert again.status_code == 400


def test_every_post_form_carries_a_valid_csrf_token(site: Site, client: TestClient) -> None:
    make_user(site, "erin", admin=True)
    log_in(client, "erin@example.org")
    expected = None
    for url in ("/", "/papers/2503.11742", "/trending", "/settings", "/collections", "/submit",
                "/admin", "/categories/cs.CV", "/users/erin", "/search?q=vision"):
        text = client.get(url).text
        forms = re.findall(r'<form[^>]*method="post".*?</form>', text, flags=re.DOTALL)
        assert forms, url
        for form in forms:
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token, (url, form[:200])
            expected = expected or token.group(1)
            assert token.group(1) == expected, url


def test_a_csrf_token_from_before_log_in_is_void_after_it(site: Site, client: TestClient) -> None:
    make_user(site, "fred")
    before = csrf_of(client, "/login")
    response = client.post("/login", data={"email": "fred@example.org", "password": PASSWORD,
                                           "csrf_token": before}, follow_redirects=False)
    assert response.status_code == 303
    stale = client.post("/papers/2503.11742/vote", data={"csrf_token": before},
                        follow_redirects=False)
    assert stale.status_code == 403
    fresh = client.post("/papers/2503.11742/vote", data={"csrf_token": csrf_of(client, "/")},
                        follow_redirects=False)
    assert fresh.status_code == 303
