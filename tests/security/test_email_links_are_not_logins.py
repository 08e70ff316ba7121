"""Issue 11 item 4: links in emails are not logins.

The verification link only shows a button on GET (mail scanners and link previews change
nothing), verifies on POST, works once, is bound to the address and to the password, and
never creates a session. Tokens in email-link paths never reach the logs, not even in the
report of an error on such a path.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from paperfeed.config import Settings
from paperfeed.mail.tokens import unsubscribe_token
from paperfeed.store.community_schema import sessions, users
from paperfeed.store.database import write_transaction
from paperfeed.store.subscriptions import Preferences, upsert_subscription
from paperfeed.store.users import set_password
from paperfeed.web.pages import subscriptions as subscription_pages
from paperfeed.web.pages import verify as verify_pages

from ..factories import PASSWORD, Site, build_site, log_in, post, served


def sign_up(client: TestClient, site: Site, name: str) -> str:
    """Sign ``name`` up; returns the path of the verification link they were mailed."""
    response = post(client, "/signup", {"username": name, "email": f"{name}@example.org",
                                        "password": PASSWORD}, page="/signup")
    assert response.status_code == 200 and "Check your inbox" in response.text
    url = site.outbox.last("verify_email", f"{name}@example.org")["url"]
    return str(url).removeprefix(site.settings.base_url)


def verified(engine: Engine, name: str) -> bool:
    with engine.connect() as conn:
        stamp = conn.execute(select(users.c.email_verified_at)
                             .where(users.c.username == name)).scalar_one()
    return stamp is not None


def session_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sessions)).scalar_one())


def test_get_shows_a_button_post_verifies_once_and_logs_nobody_in(
    site: Site, client: TestClient
) -> None:
    path = sign_up(client, site, "reader")
    scanner = TestClient(site.app)  # a mail scanner or link preview: GETs and HEADs only
    for _ in range(2):
        page = scanner.get(path)
        assert page.status_code == 200 and "Confirm my email address" in page.text
        assert f'action="{path}"' in page.text and 'method="post"' in page.text
    assert scanner.head(path).status_code in (200, 405)
    assert not verified(site.engine, "reader")

    assert client.post(path).status_code == 403  # a POST needs the page's CSRF token
    assert not verified(site.engine, "reader")
    done = post(client, path, page=path)
    assert done.status_code == 303 and done.headers["location"] == "/login?m=verified"
    assert verified(site.engine, "reader")
    # Verifying did not log anybody in.
    assert "pf_session" not in client.cookies and session_count(site.engine) == 0
    assert client.get("/settings", follow_redirects=False).headers["location"].startswith(
        "/login")
    assert "Your email address is verified" in client.get("/login?m=verified").text

    # Single use: the same link, or a second link mailed earlier, now fails.
    again = post(client, path)
    assert again.status_code == 400 and "pf_session" not in client.cookies
    assert client.get(path).status_code == 400
    log_in(client, "reader@example.org")  # the account itself works


def test_a_link_minted_before_a_password_change_fails(site: Site, client: TestClient) -> None:
    path = sign_up(client, site, "writer")
    with write_transaction(site.engine) as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == "writer")).scalar()
        set_password(conn, user_id, "a completely new password")
    assert client.get(path).status_code == 400
    assert post(client, path).status_code == 400
    assert not verified(site.engine, "writer")


def test_a_link_is_bound_to_the_address_it_verifies(site: Site, client: TestClient) -> None:
    path = sign_up(client, site, "mover")
    with write_transaction(site.engine) as conn:  # the account's address changed since
        conn.execute(update(users).where(users.c.username == "mover")
                     .values(email="elsewhere@example.org"))
    assert client.get(path).status_code == 400
    assert post(client, path).status_code == 400
    assert not verified(site.engine, "mover")


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the server's loggers write, formatted as an operator's handler would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ("uvicorn.access", "uvicorn.error", "paperfeed")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_tokens_in_link_paths_never_reach_the_logs(
    settings: Settings, corpus: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_site(settings, corpus)
    with write_transaction(corpus) as conn:
        sub, _ = upsert_subscription(conn, "reader@example.org", Preferences(), confirmed=True)
    unsubscribe = unsubscribe_token(site.settings, sub.id, sub.email)
    verify = site.app.state.links.verify_token(1, "nobody@example.org", "0" * 16)

    def explode(*args: object, **kwargs: object) -> None:
        # an error whose message names the path, as many real ones do
        raise RuntimeError(f"failed on /verify/{verify} and /unsubscribe/{unsubscribe}")

    monkeypatch.setattr(verify_pages, "_claim", explode)
    monkeypatch.setattr(subscription_pages, "subscription_for_token", explode)
    try:
        with served(site.app, log_level="info") as base, captured_logs() as logs:
            # one connection each: uvicorn drops the connection of a request that failed
            assert httpx.get(f"{base}/verify/{verify}").status_code == 500
            assert httpx.get(f"{base}/unsubscribe/{unsubscribe}").status_code == 500
            assert httpx.get(f"{base}/reset/{verify}?token={verify}").status_code == 400
            deadline = time.monotonic() + 10  # uvicorn reports an error after the answer
            while logs.getvalue().count("Exception in ASGI application") < 2:
                assert time.monotonic() < deadline, logs.getvalue()
                time.sleep(0.05)
        text = logs.getvalue()
    finally:
        site.app.state.engine.dispose()
    # The errors and the requests were logged (so the test saw the logs) ...
    assert "RuntimeError" in text and "Traceback" in text, text
    assert "GET /verify/[redacted]" in text and "GET /unsubscribe/[redacted]" in text, text
    # ... without the tokens, or any recognisable piece of them.
    for token in (verify, unsubscribe):
        assert token not in text
        for piece in token.split("."):
            if len(piece) >= 10:
                assert piece not in text, piece
