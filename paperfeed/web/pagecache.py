"""A small in-process cache for rendered pages and listings, keyed by the data version.

Entries remember the site data version they were built at (store.data_version) and
expire after ``ttl`` seconds: a vote, comment or submission bumps the version in the
database, so every worker rebuilds on its next request; changes that do not bump it
(e.g. a nightly import from the CLI) show within ``ttl``.

The clocks: :class:`DataVersionClock` (the data version as this process last read it) and
:class:`ChangeClock` (when each URL's current answer appeared: Last-Modified of the API).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

_MAX_TRACKED = 10_000


class PageCache:
    """LRU of values by key, each valid for one data version and ``ttl`` seconds, bounded
    by ``max_entries`` and, when ``weigh`` tells a value's size in bytes, by ``max_bytes``
    (rendered pages differ a lot in size: a count alone does not bound the memory)."""

    def __init__(self, ttl: float = 30.0, max_entries: int = 512, *,
                 max_bytes: int | None = None,
                 weigh: Callable[[Any], int] | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._weigh = weigh if max_bytes is not None else None
        self._items: OrderedDict[str, tuple[int, float, Any]] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self.bytes = 0  # the values' total size (0 without ``weigh``)
        self._lock = threading.Lock()
        # builds in flight, by event loop, key and version (build_once)
        self._building: dict[tuple[int, Hashable], asyncio.Task[Any]] = {}

    def get(self, key: str, version: int) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            stored_version, expires, value = item
            if stored_version != version or expires < time.monotonic():
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: str, version: int, value: Any) -> None:
        if self.ttl <= 0:
            return
        size = self._weigh(value) if self._weigh is not None else 0
        if self.max_bytes is not None and size > self.max_bytes:
            return
        now = time.monotonic()
        with self._lock:
            self._drop(key)
            self._items[key] = (version, now + self.ttl, value)
            self._sizes[key] = size
            self.bytes += size
            # the least recently used first, and expired ones found at the front
            while self._items and (
                    len(self._items) > self.max_entries
                    or (self.max_bytes is not None and self.bytes > self.max_bytes)
                    or next(iter(self._items.values()))[1] < now):
                self._drop(next(iter(self._items)))

    async def build_once(self, key: str, version: int,
                         build: Callable[[], Awaitable[Any]]) -> Any:
        """What ``build`` returns for ``key`` at ``version``, built once for all the
        callers that miss it at the same time: they await the first caller's build
        instead of each starting their own. (A page that expires, or a vote that bumps the
        data version, under load otherwise started one render per request in flight: 16
        concurrent renders per worker at wrk -c32, a p99 of 360 ms instead of 35 ms with
        pages expiring every 2 s; docs/benchmarks.md, issue 15.) The build runs as its
        own task, so a caller that goes away does not cancel it for the others; its
        exception reaches every caller. Call it from the event loop only."""
        return await single_flight(self._building, (key, version), build)

    def _drop(self, key: str) -> None:
        if self._items.pop(key, None) is not None:
            self.bytes -= self._sizes.pop(key, 0)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


async def single_flight(flights: dict[tuple[int, Hashable], asyncio.Task[Any]],
                        key: Hashable, start: Callable[[], Awaitable[Any]]) -> Any:
    """What ``start()`` gives, awaited once for all the callers that ask for ``key`` while
    it runs (``flights``: the runs in flight, by event loop and key). The run is a task of
    its own, so a caller that goes away does not cancel it for the others; its exception
    reaches every caller, and is retrieved even when none is left. Event loop only."""
    loop = asyncio.get_running_loop()
    flight = (id(loop), key)
    task = flights.get(flight)
    if task is None:
        task = loop.create_task(_awaited(start))
        flights[flight] = task

        def landed(done: asyncio.Task[Any]) -> None:
            if flights.get(flight) is done:
                del flights[flight]
            if not done.cancelled():
                done.exception()  # retrieved: no "never retrieved" log without callers

        task.add_done_callback(landed)
    return await asyncio.shield(task)


async def _awaited(start: Callable[[], Awaitable[Any]]) -> Any:
    return await start()


class DataVersionClock:
    """The site data version as this process last read it, re-read at most every
    ``poll_seconds`` — and on the next request after any write handled by this process.

    So a vote invalidates cached pages at once in the worker that took it and within
    ``poll_seconds`` in every other worker, without a database round trip per page view.
    """

    def __init__(self, engine: Any, poll_seconds: float = 0.5) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._value = 0
        self._read_at = float("-inf")
        self._expiries = 0  # expire() calls: a read begun before one is not kept as fresh
        self._reading: dict[tuple[int, Hashable], asyncio.Task[Any]] = {}  # shared()

    def current(self) -> int:
        now = time.monotonic()
        if now - self._read_at >= self.poll_seconds:
            from paperfeed.store.data_version import read_data_version

            expiries = self._expiries
            with self.engine.connect() as conn:
                self._value = read_data_version(conn)
            if expiries == self._expiries:  # else a write may have landed after the read
                self._read_at = now
        return self._value

    async def shared(self, read: Callable[[Callable[[], int]], Awaitable[int]]) -> int:
        """The version, re-read through ``read`` (which runs :meth:`current` in a thread)
        when older than ``poll_seconds``; the requests that find it old at the same time
        await one read instead of each taking a connection for their own (16 concurrent
        reads per worker at wrk -c32, every poll: tens of ms for the requests in flight;
        docs/benchmarks.md, issue 15). A read begun before an :meth:`expire` is not
        shared with the requests that come after it. Call it from the event loop only."""
        version = self.recent()
        if version is not None:
            return version
        return int(await single_flight(self._reading, self._expiries,
                                       lambda: read(self.current)))

    def recent(self) -> int | None:
        """The version if it was read less than ``poll_seconds`` ago (no database work:
        safe on the event loop), else None: then call :meth:`current` in a thread."""
        if time.monotonic() - self._read_at < self.poll_seconds:
            return self._value
        return None

    def expire(self) -> None:
        self._expiries += 1
        self._read_at = float("-inf")


class AfterWrites:
    """Pure-ASGI middleware: after any non-GET/HEAD request (its transaction committed),
    run each of ``actions`` (cheap, non-blocking calls): create_app re-reads the data
    version (:meth:`DataVersionClock.expire`) and wakes the outbox sender, which delivers
    whatever mail the request queued."""

    def __init__(self, app: Any, actions: Sequence[Callable[[], None]]) -> None:
        self.app = app
        self.actions = tuple(actions)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            for action in self.actions:
                action()


class ChangeClock:
    """URL -> (etag, first served at): when the current answer of each URL appeared."""

    def __init__(self, max_tracked: int = _MAX_TRACKED) -> None:
        self._seen: OrderedDict[str, tuple[str, dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_tracked

    def changed_at(self, key: str, etag: str) -> dt.datetime:
        """When ``key`` started answering with ``etag`` (now, if it just did)."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self._lock:
            seen = self._seen.get(key)
            if seen is None or seen[0] != etag:
                seen = (etag, now)
                self._seen[key] = seen
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return seen[1]
