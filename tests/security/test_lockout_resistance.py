"""Issue 11 item 7: nobody can lock an owner out, and rotating addresses does not help.

Log-in had a hard per-email budget (ten tries in five minutes, from anywhere): anyone could
keep a victim out by failing ten times. Now each client has a budget, each account a growing
delay that browsers which logged in before skip; reset and sign-up mail has a budget per
address, so a script rotating its addresses cannot mail-bomb a victim; page and API limits
of one user share one key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.web.login_throttle import FREE_FAILURES, LoginThrottle
from paperfeed.web.ratelimit import LIMITS

from ..factories import PASSWORD, ApiUser, Site, build_site, csrf_of, log_in, post

PROXY = ("10.0.0.1", 40000)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def proxied(settings: Settings, corpus: Engine, clock: Clock) -> Iterator[Site]:
    site = build_site(settings, corpus, trusted_proxies="10.0.0.1")
    state = site.app.state
    state.login_throttle = LoginThrottle(state.engine, site.settings.secret_key, clock=clock)
    yield site
    site.app.state.engine.dispose()


def from_address(client: TestClient, n: int, path: str, form: dict[str, str]) -> tuple[int, str]:
    """POST ``form`` to ``path`` as the visitor 198.51.100.n behind the proxy."""
    token = csrf_of(client, path.partition("?")[0])
    response = client.post(path, data={"csrf_token": token, **form},
                           headers={"X-Forwarded-For": f"198.51.100.{n}"},
                           follow_redirects=False)
    return response.status_code, response.text


@pytest.mark.corpus("none")
def test_a_stranger_cannot_lock_the_owner_out(proxied: Site, clock: Clock) -> None:
    from ..factories import make_user

    make_user(proxied, "victim")
    owner = TestClient(proxied.app, client=("203.0.113.5", 1))
    log_in(owner, "victim@example.org")  # the owner's browser has logged in before
    post(owner, "/logout", page="/")
    wrong = {"email": "victim@example.org", "password": "a guess of a password"}
    with TestClient(proxied.app, client=PROXY) as attacker:
        codes = [from_address(attacker, n, "/login", wrong)[0] for n in range(30)]
        assert codes == [400] * FREE_FAILURES + [429] * (30 - FREE_FAILURES)
        # inside the delay even the right password is refused unchecked
        right = {"email": "victim@example.org", "password": PASSWORD}
        assert from_address(attacker, 100, "/login", right)[0] == 429
        # the owner's browser gets in at once, whatever the stranger does
        log_in(owner, "victim@example.org")
        post(owner, "/logout", page="/")
        # the delay grows: 1 s after the fifth failure in a row, 2 s after the sixth
        for _ in range(FREE_FAILURES):
            assert from_address(attacker, 101, "/login", wrong)[0] == 400
        clock.now += 1.5
        assert from_address(attacker, 102, "/login", wrong)[0] == 400
        clock.now += 1.5
        assert from_address(attacker, 103, "/login", wrong)[0] == 429
        # a new device of the owner gets in once the delay has passed
        clock.now += 1.0
        assert from_address(attacker, 104, "/login", right)[0] == 303


@pytest.mark.corpus("none")
def test_unknown_addresses_are_delayed_exactly_like_known_ones(proxied: Site) -> None:
    from ..factories import make_user

    make_user(proxied, "victim")
    with TestClient(proxied.app, client=PROXY) as attacker:
        seen = {}
        for email in ("victim@example.org", "nobody@example.org"):
            form = {"email": email, "password": "a guess of a password"}
            seen[email] = [(code, text.replace(email, "ADDRESS")) for code, text in
                           (from_address(attacker, n, "/login", form) for n in range(8))]
    assert seen["victim@example.org"] == seen["nobody@example.org"]


@pytest.mark.corpus("none")
def test_rotating_addresses_cannot_mail_bomb_a_victim(proxied: Site) -> None:
    from ..factories import make_user

    make_user(proxied, "victim")
    budget = LIMITS["account-mail"][0]
    with TestClient(proxied.app, client=PROXY) as attacker:
        resets = [from_address(attacker, n, "/reset", {"email": "victim@example.org"})[0]
                  for n in range(budget + 2)]
        signups = [from_address(attacker, 50 + n, "/signup", {
            "username": f"someone{n}", "email": "victim@example.org",
            "password": PASSWORD})[0] for n in range(2)]
        unknown = [from_address(attacker, 80 + n, "/reset", {"email": "nobody@example.org"})
                   for n in range(budget + 2)]
    assert resets == [200] * budget + [429, 429]
    assert signups == [429, 429]  # sign-up and reset share the address's budget
    mails = [m for m in proxied.outbox.sent if m[1] == "victim@example.org"]
    assert len(mails) == budget
    assert [code for code, _ in unknown] == resets  # and say nothing about who exists


@pytest.mark.corpus("web")
def test_page_and_api_votes_of_one_user_share_one_budget(
        site: Site, client: TestClient, api_user: ApiUser) -> None:
    log_in(client, "ada@example.org")
    token = csrf_of(client, "/")
    limit = LIMITS["vote"][0]
    paper = "2503.11742"
    api = [client.post(f"/api/papers/{paper}/vote", headers=api_user.auth).status_code
           for _ in range(limit // 2)]
    page = [client.post(f"/papers/{paper}/vote", data={"csrf_token": token},
                        headers={"accept": "application/json"}).status_code
            for _ in range(limit - limit // 2)]
    assert set(api) == set(page) == {200}
    assert client.post(f"/papers/{paper}/vote", data={"csrf_token": token},
                       headers={"accept": "application/json"}).status_code == 429
    assert client.post(f"/api/papers/{paper}/vote", headers=api_user.auth).status_code == 429
