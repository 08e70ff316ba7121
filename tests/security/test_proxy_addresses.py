"""Issue 11 item 1: behind a trusted reverse proxy every visitor has their own address.

Without it, every request arrives from the proxy, so the sixth sign-up of the hour from
anyone gets a 429 and one script locks the whole site out of log-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed.config import Settings, load_settings

from ..factories import Site, build_site, csrf_of

PROXY = ("10.0.0.1", 40000)


@pytest.fixture
def proxied(settings: Settings, corpus: Engine) -> Iterator[Site]:
    site = build_site(settings, corpus, trusted_proxies="10.0.0.1, ::1")
    yield site
    site.app.state.engine.dispose()


def sign_up(client: TestClient, n: int, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = csrf_of(client, "/signup")
    return client.post("/signup", headers=headers, data={
        "csrf_token": token, "username": f"user{n}", "email": f"user{n}@example.org",
        "password": "correct horse battery"}).status_code


def test_fifteen_visitors_behind_the_proxy_each_get_their_own_budget(proxied: Site) -> None:
    with TestClient(proxied.app, client=PROXY) as client:
        codes = [sign_up(client, n, f"198.51.100.{n}") for n in range(15)]
    assert codes == [200] * 15


def test_one_visitor_behind_the_proxy_still_meets_the_limit(proxied: Site) -> None:
    with TestClient(proxied.app, client=PROXY) as client:
        # the visitor writes any left-hand entries it likes: only the right-most untrusted
        # one (what the proxy appended) counts
        codes = [sign_up(client, n, f"192.0.2.{n}, 198.51.100.7") for n in range(6)]
    assert codes == [200] * 5 + [429]


def test_forwarded_headers_from_anyone_else_are_ignored(proxied: Site) -> None:
    with TestClient(proxied.app, client=("203.0.113.9", 5555)) as client:
        codes = [sign_up(client, n, f"198.51.100.{n}") for n in range(6)]
    assert codes == [200] * 5 + [429]


def test_ipv6_clients_share_a_budget_per_64(proxied: Site) -> None:
    with TestClient(proxied.app, client=PROXY) as client:
        codes = [sign_up(client, n, f"2001:db8:1:2::{n + 1:x}") for n in range(6)]
        other_net = sign_up(client, 99, "2001:db8:1:3::1")
    assert codes == [200] * 5 + [429]
    assert other_net == 200


async def _record(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = f"{scope['client'][0]} {scope['scheme']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize(("peer", "headers", "seen"), [
    ("10.0.0.1", {"X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "https"},
     "198.51.100.4 https"),
    # a chain of trusted proxies: the first untrusted hop from the right
    ("10.0.0.1", {"X-Forwarded-For": "6.6.6.6, 198.51.100.4, 10.0.0.2"}, "198.51.100.4 http"),
    ("203.0.113.9", {"X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "https"},
     "203.0.113.9 http"),
    ("10.0.0.1", {"X-Forwarded-For": "not-an-address"}, "10.0.0.1 http"),
    ("10.0.0.1", {"X-Forwarded-Proto": "javascript"}, "10.0.0.1 http"),
])
def test_middleware_trusts_only_the_configured_proxies(
        peer: str, headers: dict[str, str], seen: str) -> None:
    from paperfeed.web.client_address import ClientAddress

    app = ClientAddress(_record, trusted_proxies="10.0.0.0/24")
    client = TestClient(app, client=(peer, 1))  # no `with`: this tiny app has no lifespan
    assert client.get("/", headers=headers).text == seen


def test_setting_rejects_garbage_and_serve_passes_it(monkeypatch: pytest.MonkeyPatch,
                                                     settings: Settings) -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        load_settings(trusted_proxies="10.0.0.1, proxy.example.org")
    import uvicorn

    from paperfeed.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("PAPERFEED_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PAPERFEED_CACHE_DIR", settings.cache_dir)
    # serve exports these for its worker processes: let monkeypatch restore them
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "")
    result = CliRunner().invoke(main, ["serve", "--db", settings.database_url,
                                       "--trusted-proxies", "127.0.0.1,::1"])
    assert result.exit_code == 0, result.output
    assert os.environ["PAPERFEED_TRUSTED_PROXIES"] == "127.0.0.1,::1"  # for the workers
    assert seen["proxy_headers"] is False  # uvicorn must not apply the headers a 2nd time
