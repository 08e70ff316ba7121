"""Sign up, verify email, log in / out, reset password, settings, API tokens."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.store.community_schema import api_tokens, sessions, users

from .factories import PASSWORD, Site, csrf_of, log_in, make_user, post


def sign_up(client: TestClient, username: str, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return post(client, "/signup", {"username": username, "email": email,
                                     "password": password}, page="/signup")


def test_sign_up_verify_log_out_and_log_in(site: Site, client: TestClient) -> None:
    response = sign_up(client, "Bob_1", "Bob@Example.org")
    assert response.status_code == 200 and "Check your inbox" in response.text
    mail = site.outbox.last("verify_email", "bob@example.org")
    assert mail["url"].startswith("http://testserver/verify/")
    # Not verified yet: logging in is refused with a fresh link.
    token = csrf_of(client, "/login")
    refused = client.post("/login", data={"email": "bob@example.org", "password": PASSWORD,
                                          "csrf_token": token})
    assert refused.status_code == 403 and "verify your email" in refused.text
    path = mail["url"].replace("http://testserver", "")
    verified = post(client, path, page=path)  # the link's page has the button that POSTs
    assert verified.status_code == 303 and verified.headers["location"] == "/login?m=verified"
    assert "pf_session" not in client.cookies  # verifying is not logging in
    log_in(client, "bob@example.org")
    home = client.get("/")
    assert "bob_1" in home.text and "Log out" in home.text
    out = post(client, "/logout", page="/")
    assert out.status_code == 303 and "pf_session" not in client.cookies
    with site.engine.connect() as conn:
        assert conn.execute(select(sessions)).first() is None
    log_in(client, "BOB@example.org")
    assert "bob_1" in client.get("/settings").text


def test_sign_up_errors_are_explained(site: Site, client: TestClient) -> None:
    assert "at least 10" in sign_up(client, "carol", "carol@example.org", "short").text
    assert "Usernames are" in sign_up(client, "x", "x@example.org").text
    assert "email address" in sign_up(client, "dave", "not-an-email").text
    make_user(site, "erin")
    assert "taken" in sign_up(client, "erin", "other@example.org").text


def test_known_and_unknown_emails_get_the_same_answer_and_time(
    site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(site, "frank")
    # Equal time means equal work: both paths must hash one password with argon2id.
    # (Counted, not timed: wall-clock bounds in tests fail on a busy machine.)
    import paperfeed.store.passwords as passwords_module

    real = passwords_module._hasher
    hashed: list[str] = []

    class CountingHasher:
        def hash(self, password: str) -> str:
            hashed.append(password)
            return real.hash(password)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(real, name)

    monkeypatch.setattr(passwords_module, "_hasher", CountingHasher())
    known = sign_up(client, "frank2", "frank@example.org")
    work_known = len(hashed)
    unknown = sign_up(client, "gina", "gina@example.org")
    work_unknown = len(hashed) - work_known

    def strip(text: str) -> str:
        return text.replace("frank@example.org", "E").replace("gina@example.org", "E")

    assert known.status_code == unknown.status_code == 200
    assert strip(known.text) == strip(unknown.text)
    assert site.outbox.last("password_reset", "frank@example.org")["url"].startswith(
        "http://testserver/reset/")
    assert work_known == work_unknown == 1

    reset_known = post(client, "/reset", {"email": "frank@example.org"}, page="/reset")
    reset_unknown = post(client, "/reset", {"email": "nobody@example.org"}, page="/reset")
    assert reset_known.status_code == reset_unknown.status_code == 200
    assert reset_known.text.replace("frank@example.org", "E") == \
        reset_unknown.text.replace("nobody@example.org", "E")
    # Logging in: the same words for a wrong password and an unknown email.
    token = csrf_of(client, "/login")
    wrong = client.post("/login", data={"email": "frank@example.org", "password": "nope" * 3,
                                        "csrf_token": token})
    nobody = client.post("/login", data={"email": "zed@example.org", "password": "nope" * 3,
                                         "csrf_token": token})
    assert wrong.status_code == nobody.status_code == 400
    assert (wrong.text.replace("frank@example.org", "E")
            == nobody.text.replace("zed@example.org", "E"))


def test_passwords_are_argon2id_and_sessions_are_server_side(
    site: Site, client: TestClient
) -> None:
    make_user(site, "hana")
    with site.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    log_in(client, "hana@example.org")
    cookie = client.cookies["pf_session"]
    with site.engine.connect() as conn:
        row = conn.execute(select(sessions.c.token_hash)).scalar_one()
    assert row != cookie and len(row) == 64  # only a digest of the cookie is stored


def test_password_reset_link_works_once(site: Site, client: TestClient) -> None:
    make_user(site, "ivan")
    post(client, "/reset", {"email": "ivan@example.org"}, page="/reset")
    url = site.outbox.last("password_reset", "ivan@example.org")["url"].replace(
        "http://testserver", "")
    assert client.get(url).status_code == 200
    short = post(client, url, {"password": "short"}, page=url)
    assert short.status_code == 400
    done = post(client, url, {"password": "a brand new password"}, page=url)
    assert done.status_code == 303 and "pf_session" in client.cookies
    assert client.get(url).status_code == 400  # used: the password changed
    client.cookies.clear()
    log_in(client, "ivan@example.org", "a brand new password")


def test_settings_profile_password_and_tokens(site: Site, client: TestClient) -> None:
    make_user(site, "jane")
    log_in(client, "jane@example.org")
    assert post(client, "/settings/profile", {"display_name": "Jane D.", "bio": "NLP"},
                page="/settings").status_code == 303
    assert "Jane D." in client.get("/users/jane").text
    created = post(client, "/settings/tokens", {"name": "laptop"}, page="/settings")
    assert created.status_code == 200 and "pf_" in created.text
    secret = created.text.split('<code class="secret">')[1].split("<")[0]
    with site.engine.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash, api_tokens.c.id)).first()
    assert stored and stored.token_hash != secret and secret not in client.get("/settings").text
    from paperfeed.store.tokens import user_for_token

    with site.engine.connect() as conn:
        assert user_for_token(conn, secret).username == "jane"  # type: ignore[union-attr]
    revoked = post(client, f"/settings/tokens/{stored.id}/revoke", page="/settings")
    assert revoked.status_code == 303
    with site.engine.connect() as conn:
        assert user_for_token(conn, secret) is None
    wrong = post(client, "/settings/password", {"current": "wrong password!", "password":
                                                "another password"}, page="/settings")
    assert wrong.status_code == 400
    ok = post(client, "/settings/password", {"current": PASSWORD, "password":
                                             "another password"}, page="/settings")
    assert ok.status_code == 303


def test_pages_that_need_an_account_send_visitors_to_log_in(client: TestClient) -> None:
    for path in ("/submit", "/settings", "/collections", "/admin"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_expired_sessions_are_purged_at_the_next_log_in(engine) -> None:
    import datetime as dt

    from sqlalchemy import update

    from paperfeed.store.database import write_transaction
    from paperfeed.store.sessions import create_session, session_user
    from paperfeed.store.users import create_user

    with write_transaction(engine) as conn:
        ada = create_user(conn, username="ada", email="ada@example.org", password=PASSWORD)
        old = create_session(conn, ada.id)
        conn.execute(update(sessions).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        assert session_user(conn, old) is None  # expired: refused even before the purge
        new = create_session(conn, ada.id)
        assert session_user(conn, new).id == ada.id
        assert len(conn.execute(select(sessions)).all()) == 1  # the expired row is gone
