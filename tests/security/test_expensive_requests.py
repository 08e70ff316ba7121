"""Issue 11 item 8: expensive anonymous work is bounded.

Search (page, API, Atom), similar papers (page, API) and personal feeds have a per-client
budget answered with 429 + Retry-After; a request body over ``max_body_bytes`` is refused
with 413 before it is read, on every route."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from paperfeed.web.feeds.personal import personal_feed_path

from ..factories import Site, csrf_of, make_user

PAPERS = ["2503.11731", "2503.11742", "2503.11750", "2503.11780"]
BUDGET = 3


def paths_for(site: Site, route: str) -> Callable[[int], str]:
    """The n-th distinct request of ``route`` (distinct, so no page cache can answer)."""
    if route == "personal feed":
        user = make_user(site, "feeder")
        path = personal_feed_path(site.settings.secret_key, user.id, user.username)
        return lambda n: f"{path}?n={n}"
    return {
        "search page": lambda n: f"/search?q=gaussian+splatting+{n}&mode=keyword",
        "search API": lambda n: f"/api/papers/search?q=splatting+{n}&mode=keyword",
        "search feed": lambda n: f"/feeds/search.atom?q=splatting+{n}",
        "similar API": lambda n: f"/api/papers/{PAPERS[n]}/similar",
        "similar page": lambda n: f"/papers/{PAPERS[n]}",
    }[route]


@pytest.mark.parametrize(("route", "bucket"), [
    ("search page", "search"), ("search API", "search"), ("search feed", "search"),
    ("similar API", "similar"), ("similar page", "similar"), ("personal feed", "feed"),
])
def test_expensive_reads_have_a_per_client_budget(site: Site, route: str, bucket: str) -> None:
    site.app.state.limiter.limits[bucket] = (BUDGET, 60.0)
    path = paths_for(site, route)
    with TestClient(site.app, client=("198.51.100.1", 1)) as greedy, \
            TestClient(site.app, client=("198.51.100.2", 1)) as other:
        codes = [greedy.get(path(n)).status_code for n in range(BUDGET + 1)]
        assert all(c < 400 for c in codes[:BUDGET]), codes
        refused = greedy.get(path(BUDGET))
        assert codes[BUDGET] == 429 and refused.status_code == 429, codes
        assert int(refused.headers["retry-after"]) >= 1
        assert other.get(path(0)).status_code < 400  # other clients are not affected


def test_a_large_body_is_refused_with_413_on_every_kind_of_route(site: Site,
                                                                  client: TestClient) -> None:
    limit = site.settings.max_body_bytes
    big = b"x" * (limit + 1)
    token = csrf_of(client, "/login")
    for path in ("/login", "/signup", "/api/collections", "/subscribe", "/no-such-route"):
        response = client.post(path, content=big, headers={
            "content-type": "application/x-www-form-urlencoded", "x-csrf-token": token})
        assert response.status_code == 413, (path, response.status_code)
    twenty_mib = b'{"name": "' + b"a" * (20 * 1024 * 1024) + b'"}'
    response = client.post("/api/collections", content=twenty_mib,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(site: Site,
                                                             client: TestClient) -> None:
    token = csrf_of(client, "/login")
    chunk = b"y" * 65536

    def body() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for _ in range(site.settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = client.post("/login", content=body(), headers={
        "content-type": "application/x-www-form-urlencoded", "x-csrf-token": token})
    assert response.status_code == 413
    small = client.post("/login", content=iter([b"email=a%40b.org&password=x"]),
                        headers={"content-type": "application/x-www-form-urlencoded",
                                 "x-csrf-token": token})
    assert small.status_code != 413


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    from paperfeed.web.request_limits import BodySizeLimit

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/signup",
             "headers": [(b"content-length", str(20 * 1024 * 1024).encode())]}
    asyncio.run(BodySizeLimit(app, max_bytes=1024 * 1024)(scope, receive, send))
    assert sent[0]["status"] == 413
