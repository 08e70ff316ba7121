"""The page cache is bounded in bytes as well as entries, and drops what expired."""

from __future__ import annotations

import sys

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
