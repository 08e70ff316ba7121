"""The page cache is bounded in bytes as well as entries, and drops what expired."""

from __future__ import annotations

import asyncio
import sys
import threading

from paperfeed.app import PAGE_CACHE_BYTES, create_app
from paperfeed.web import pagecache
from paperfeed.web.pagecache import PageCache


def test_pages_are_bounded_in_bytes_least_recently_used_first():
    cache = PageCache(ttl=30, max_entries=100, max_bytes=1000, weigh=len)
    for name in "abcd":
        cache.put(name, 1, name * 300)  # 4 x 300 bytes: one too many
    assert cache.get("a", 1) is None and len(cache) == 3 and cache.bytes == 900
    assert cache.get("b", 1) == "b" * 300  # now the most recently used
    cache.put("e", 1, "e" * 300)
    assert cache.get("c", 1) is None and cache.get("b", 1) is not None
    cache.put("e", 1, "e" * 10)  # replacing a value counts its new size only
    assert cache.bytes == 610
    cache.put("huge", 1, "x" * 1001)  # larger than the whole cache: not kept, nothing evicted
    assert cache.get("huge", 1) is None and len(cache) == 3
    cache.clear()
    assert cache.bytes == 0 and len(cache) == 0


def test_entries_still_bounded_by_count_without_a_size():
    cache = PageCache(ttl=30, max_entries=2)
    for name in "abc":
        cache.put(name, 1, [name])
    assert len(cache) == 2 and cache.get("a", 1) is None and cache.bytes == 0


def test_expired_pages_are_dropped_when_others_are_stored(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: clock[0])
    cache = PageCache(ttl=30, max_bytes=10_000, weigh=len)
    cache.put("old", 1, "o" * 500)
    clock[0] += 31
    cache.put("new", 1, "n" * 500)  # no one asked for "old" again: its memory goes now
    assert len(cache) == 1 and cache.bytes == 500


def test_the_site_bounds_its_page_cache_in_bytes(settings):
    cache = create_app(settings).state.cache
    assert cache.max_bytes == PAGE_CACHE_BYTES
    page = ("<html>" + "x" * 100_000, 200)
    cache.put("page:/", 1, page)
    assert sys.getsizeof(page[0]) <= cache.bytes < PAGE_CACHE_BYTES


def test_concurrent_misses_share_one_build():
    """Requests that miss the same page at once await one build, not one each; another
    version (or key) is its own build; a failed build reaches every caller and is not
    kept."""
    cache = PageCache(ttl=30)
    builds: list[int] = []

    async def scenario() -> None:
        release = asyncio.Event()

        async def build(version: int) -> str:
            builds.append(version)
            await release.wait()
            return f"page v{version}"

        callers = [asyncio.create_task(cache.build_once("page:/", v, lambda v=v: build(v)))
                   for v in (1, 1, 1, 1, 2)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert sorted(builds) == [1, 2]
        callers[0].cancel()  # a visitor who goes away does not cancel the others' page
        release.set()
        pages = await asyncio.gather(*callers[1:])
        assert pages == ["page v1"] * 3 + ["page v2"]

        async def broken() -> str:
            builds.append(3)
            raise RuntimeError("no database")

        failed = await asyncio.gather(*(cache.build_once("page:/", 3, broken)
                                        for _ in range(3)), return_exceptions=True)
        assert all(isinstance(f, RuntimeError) for f in failed) and builds.count(3) == 1
        assert await cache.build_once("page:/", 3, lambda: build(3)) == "page v3"

    asyncio.run(scenario())
    assert builds == [1, 2, 3, 3]


def test_a_page_that_many_visitors_miss_at_once_is_rendered_once(settings, monkeypatch):
    """Anonymous visitors who miss the cached home page together (it expired, or a vote
    bumped the data version) share one render."""
    import httpx

    from paperfeed.web.pages import cached

    renders: list[str] = []
    all_arrived = threading.Event()
    real = cached.render_text

    def counting_render(request, template, context=None, *, anonymous=False):
        renders.append(template)
        if len(renders) >= 8:
            all_arrived.set()
        all_arrived.wait(2)  # without sharing, the other 7 renders start meanwhile
        return real(request, template, context, anonymous=anonymous)

    monkeypatch.setattr(cached, "render_text", counting_render)
    app = create_app(settings)

    async def visitors() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await asyncio.gather(*(c.get("/") for _ in range(8)))

    answers = asyncio.run(visitors())
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.text.split('name="csrf_token"')[0] for a in answers}) == 1
    assert renders == ["home.html"]
    app.state.engine.dispose()


def test_requests_that_find_the_data_version_old_share_one_read(engine):
    """One database read of the data version for all the requests that find it older than
    the poll at once; a write (expire) during a read is not hidden by that read."""
    from paperfeed.store.data_version import bump_data_version
    from paperfeed.store.database import write_transaction

    clock = pagecache.DataVersionClock(engine, poll_seconds=3600)
    reads: list[int] = []

    async def scenario() -> None:
        release = asyncio.Event()

        async def read(current):
            reads.append(1)
            await release.wait()
            return await asyncio.to_thread(current)

        first = [asyncio.create_task(clock.shared(read)) for _ in range(6)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(reads) == 1
        with write_transaction(engine) as conn:  # this worker took a vote meanwhile
            bump_data_version(conn)
        clock.expire()
        after_write = asyncio.create_task(clock.shared(read))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(reads) == 2  # not the read that began before the write
        release.set()
        versions = await asyncio.gather(*first)
        assert len(set(versions)) == 1
        newest = await after_write
        assert newest >= versions[0]
        assert await clock.shared(read) == newest and len(reads) == 2  # fresh: no read

    asyncio.run(scenario())
