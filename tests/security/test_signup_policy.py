"""Issue 12 item 3: the sign-up policy (``signup``: open, invite, domains, closed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed.config import Settings, load_settings
from paperfeed.store.community_schema import users
from paperfeed.store.database import write_transaction
from paperfeed.store.invites import create_invite
from paperfeed.web.signup_policy import CLOSED, INVITE_ONLY

from ..factories import PASSWORD, Site, build_site, post

pytestmark = pytest.mark.corpus("none")


PolicyClient = Callable[..., TestClient]


@pytest.fixture
def policy_client(settings: Settings, corpus: Engine) -> Iterator[PolicyClient]:
    """``policy_client(signup=..., signup_domains=...)``: a client of a site so configured."""
    sites: list[Site] = []

    def make(**policy: str) -> TestClient:
        sites.append(build_site(settings, corpus, **policy))
        return TestClient(sites[-1].app)

    yield make
    for site in sites:
        site.app.state.engine.dispose()


def sign_up(client: TestClient, name: str, email: str, invite: str = "") -> int:
    path = "/signup" + (f"?invite={invite}" if invite else "")
    return int(post(client, path, {"username": name, "email": email, "password": PASSWORD},
                    page="/login").status_code)


def accounts(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def invite(engine: Engine) -> str:
    with write_transaction(engine) as conn:
        return create_invite(conn, expires_in=dt.timedelta(days=1))


def test_closed_answers_403_and_says_why(policy_client: PolicyClient, corpus: Engine) -> None:
    client = policy_client(signup="closed")
    page = client.get("/signup").text
    assert CLOSED in page and 'name="password"' not in page
    assert 'href="/signup"' not in client.get("/login").text  # no invitation to sign up
    response = post(client, "/signup", {"username": "eve", "email": "eve@example.org",
                                        "password": PASSWORD}, page="/login")
    assert response.status_code == 403 and CLOSED in response.text
    assert sign_up(client, "eve", "eve@example.org", invite(corpus)) == 403
    assert accounts(corpus) == 0


def test_invite_only_needs_an_invite_url(policy_client: PolicyClient, corpus: Engine) -> None:
    client = policy_client(signup="invite")
    assert INVITE_ONLY in client.get("/signup").text
    assert sign_up(client, "eve", "eve@example.org") == 403
    assert sign_up(client, "eve", "eve@example.org", "made-up") == 400
    assert accounts(corpus) == 0
    assert sign_up(client, "ada", "ada@example.org", invite(corpus)) == 200
    assert accounts(corpus) == 1


def test_domains_admit_their_addresses_and_invites(
        policy_client: PolicyClient, corpus: Engine) -> None:
    client = policy_client(signup="domains", signup_domains="uni.edu")
    assert sign_up(client, "eve", "eve@gmail.com") == 400
    assert sign_up(client, "mallory", "mallory@evil-uni.edu") == 400
    assert accounts(corpus) == 0
    assert sign_up(client, "ada", "ada@uni.edu") == 200
    assert sign_up(client, "bob", "bob@cs.uni.edu") == 200
    assert sign_up(client, "carol", "carol@gmail.com", invite(corpus)) == 200
    assert accounts(corpus) == 3


def test_open_is_the_default_and_the_settings_are_checked(
        policy_client: PolicyClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sign_up(policy_client(), "ada", "ada@example.org") == 200
    assert load_settings(secret_key="k" * 32).signup == "open"
    monkeypatch.setenv("PAPERFEED_SIGNUP", "closed")
    assert load_settings(secret_key="k" * 32).signup == "closed"
    with pytest.raises(ValueError, match="signup_domains"):
        load_settings(secret_key="k" * 32, signup="domains")
    with pytest.raises(ValueError, match="signup_domains"):
        load_settings(secret_key="k" * 32, signup="domains", signup_domains="not a domain")
    assert load_settings(secret_key="k" * 32, signup="domains",
                         signup_domains=" Uni.EDU, @lab.org ").signup_domains == "uni.edu,lab.org"
