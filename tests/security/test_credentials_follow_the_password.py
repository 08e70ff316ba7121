"""Issue 11 item 10: credentials follow the password.

Whoever learnt the old password may have made API tokens and sessions, and knows the
personal feed URL. A password reset ends every session and revokes every token; a password
change offers to; settings revoke all tokens at once; the feed URL has a per-user secret
the user can change (before, only changing the site's secret key changed it)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from paperfeed.store.database import write_transaction
from paperfeed.store.tokens import create_token

from ..factories import PASSWORD, Site, log_in, make_user, post

pytestmark = pytest.mark.corpus("none")


def tokens_for(site: Site, user_id: int, n: int = 2) -> list[str]:
    with write_transaction(site.engine) as conn:
        return [create_token(conn, user_id, f"t{i}")[0] for i in range(n)]


def token_works(client: TestClient, secret: str) -> bool:
    code = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code
    assert code in (200, 401)
    return code == 200


def logged_in(client: TestClient) -> bool:
    return client.get("/settings", follow_redirects=False).status_code == 200


def test_a_password_reset_ends_every_session_and_token(site: Site) -> None:
    user = make_user(site, "ada")
    secrets = tokens_for(site, user.id)
    thief, owner = TestClient(site.app), TestClient(site.app)
    log_in(thief, "ada@example.org")
    assert all(token_works(owner, s) for s in secrets) and logged_in(thief)
    post(owner, "/reset", {"email": "ada@example.org"}, page="/reset")
    path = site.outbox.last("password_reset", "ada@example.org")["url"].removeprefix(
        "http://testserver")
    assert post(owner, path, {"password": "a brand new password"}, page=path
                ).status_code == 303
    assert logged_in(owner)  # the one who reset it
    assert not logged_in(thief)
    assert not any(token_works(owner, s) for s in secrets)


@pytest.mark.parametrize("revoke", [False, True])
def test_a_password_change_offers_to_end_sessions_and_tokens(site: Site, revoke: bool) -> None:
    user = make_user(site, "ada")
    secrets = tokens_for(site, user.id)
    other, owner = TestClient(site.app), TestClient(site.app)
    log_in(other, "ada@example.org")
    log_in(owner, "ada@example.org")
    form = {"current": PASSWORD, "password": "a brand new password"}
    if revoke:
        form |= {"end_sessions": "1", "revoke_tokens": "1"}
    assert post(owner, "/settings/password", form, page="/settings").status_code == 303
    page = owner.get("/settings").text
    assert 'name="end_sessions"' in page and 'name="revoke_tokens"' in page  # offered
    assert logged_in(owner)
    assert logged_in(other) is not revoke
    assert all(token_works(owner, s) is not revoke for s in secrets)


def test_settings_revoke_all_tokens(site: Site, client: TestClient) -> None:
    user = make_user(site, "ada")
    mine = tokens_for(site, user.id, 3)
    others = tokens_for(site, make_user(site, "bob").id, 1)
    log_in(client, "ada@example.org")
    assert "/settings/tokens/revoke-all" in client.get("/settings").text
    done = post(client, "/settings/tokens/revoke-all", page="/settings")
    assert done.status_code == 303
    assert not any(token_works(client, s) for s in mine)
    assert token_works(client, others[0])


@pytest.mark.corpus("web")
def test_the_personal_feed_url_can_be_changed_by_its_user(site: Site, client: TestClient) -> None:
    user = make_user(site, "ada")
    [secret] = tokens_for(site, user.id, 1)
    auth = {"Authorization": f"Bearer {secret}"}
    log_in(client, "ada@example.org")
    old = client.get("/api/me", headers=auth).json()["feedUrl"]
    assert old in client.get("/settings").text
    old_path = old.removeprefix("http://testserver")
    assert client.get(old_path).status_code == 200
    assert post(client, "/settings/feed", page="/settings").status_code == 303
    new = client.get("/api/me", headers=auth).json()["feedUrl"]
    assert new != old and new in client.get("/settings").text
    assert client.get(old_path).status_code == 404
    assert client.get(new.removeprefix("http://testserver")).status_code == 200
