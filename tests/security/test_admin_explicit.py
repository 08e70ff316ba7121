"""Issue 11 item 9: admin is explicit. A web sign-up never becomes admin (once the first
sign-up did, and on PostgreSQL two racing first sign-ups both did); admins come from the
CLI (`paperfeed users add ... --admin`, `users promote`)."""

from __future__ import annotations

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.cli import main
from paperfeed.store.community_schema import users

from ..factories import PASSWORD, Site, log_in, post


def sign_up(client: TestClient, name: str) -> None:
    response = post(client, "/signup", {"username": name, "email": f"{name}@example.org",
                                         "password": PASSWORD}, page="/signup")
    assert response.status_code == 200 and "Check your inbox" in response.text


def admins(site: Site) -> dict[str, bool]:
    with site.engine.connect() as conn:
        return {r.username: bool(r.is_admin) for r in conn.execute(select(users))}


def test_the_first_web_sign_up_on_an_empty_instance_is_not_admin(
    site: Site, client: TestClient
) -> None:
    assert admins(site) == {}
    sign_up(client, "first")
    assert admins(site) == {"first": False}


def test_two_web_sign_ups_are_not_admin(site: Site, client: TestClient) -> None:
    sign_up(client, "first")
    sign_up(TestClient(site.app), "second")
    assert admins(site) == {"first": False, "second": False}


def test_the_cli_creates_an_admin_who_reaches_the_admin_area(
    site: Site, client: TestClient
) -> None:
    sign_up(client, "first")
    result = CliRunner().invoke(main, [
        "users", "add", "root@example.org", "--username", "root", "--admin",
        "--password-stdin", "--db", site.settings.database_url], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert admins(site) == {"first": False, "root": True}
    log_in(client, "root@example.org")  # verified on creation: no email round trip
    assert client.get("/admin").status_code == 200
