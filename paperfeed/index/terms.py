"""The process-wide, persisted copy of a database's BM25 postings (index/postings.py), kept
fresh: what the keyword arm (index/bm25.py) scores.

The database's own full-text index (SQLite FTS5, PostgreSQL tsvector) scores every paper
that contains any query word, which for common words is most of the corpus (tens of ms
at 57k papers on SQLite, hundreds on PostgreSQL with ``ts_rank``, which is not BM25 at
all). This module keeps, per process and database, postings of every non-stopword stem
(porter, as FTS5's ``porter unicode61 remove_diacritics 2``) with its field-weighted
term frequency, and scores a query with numpy: the same formula as FTS5's ``bm25()``
(k1 1.2, b 0.75, weighted frequency = sum of column weight x count, length = all tokens
of the paper), over the candidates only, in a millisecond or two at 57k papers.

The database stays the record: phrases and ``-excluded`` words are still matched by the
database's full-text index (the caller masks with them), filters by SQL, and this copy is
refreshed when the papers' text changes. Freshness: the search backend's ``text_changes``
counter is moved by triggers on text updates and deletes (and, on PostgreSQL, on
inserts; on SQLite new papers always get a larger id, so ``max(id)`` shows inserts).
When the stamp moves, the ids and content hashes are compared with the copy: new and
changed papers go into a new segment, replaced and deleted ones are masked; when the
changes grow past a fifth of the corpus the copy is rebuilt. Built in segments of at
most ``SEGMENT_DOCS`` papers, so the memory a build needs stays bounded. A full build is
saved to ``cache_dir/terms`` (when the server or CLI set one) as a set of .npy files that
every process maps read-only (index/saved_arrays.py): the web workers share one copy of
the postings instead of holding one each, and the next process starts from it (a few ms
instead of ~4.5 s at 57,852 papers) and only tokenises what changed since.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, func, select

from paperfeed.index.postings import Segment, SortedVocab, TermIndex, build_segment
from paperfeed.index.saved_arrays import (
    build_lock,
    load_set,
    save_set,
    saved_root,
    saved_sets,
    use_cache_dir,  # noqa: F401 - re-exported: the CLI and tests set it here
)
from paperfeed.store.database import database_key
from paperfeed.store.schema import papers

log = logging.getLogger(__name__)
SEGMENT_DOCS = 100_000
REBUILD_FRACTION = 0.2  # rebuild once replaced + new papers pass this share of the corpus
TextChanges = Callable[[Connection], int]  # a backend's text_changes (migration 0005_terms)

_INDEXES: dict[str, TermIndex] = {}
_LOCK = threading.Lock()


def _stamp(conn: Connection, text_changes: TextChanges) -> tuple[int, int]:
    """Changes when the papers' text may have changed (triggers of migration 0005_terms)."""
    # the change counter first: a change committed between the two reads only costs one
    # more refresh, never a missed one
    changes = text_changes(conn)
    top = conn.execute(select(func.max(papers.c.id))).scalar()
    return changes, int(top or 0)


def term_index(conn: Connection, text_changes: TextChanges | None = None, *,
               save: bool = False) -> TermIndex:
    """The process-wide BM25 copy of this database's papers, refreshed when stale.

    ``text_changes`` is the search backend's counter of text changes (the backends pass
    their own; by default backend_for(conn).text_changes). With a cache directory
    (use_cache_dir) the copy is a saved set mapped read-only, shared by every process:
    a full build is saved, a saved set of the current stamp is mapped instead of
    refreshing, and ``save`` (the worker's index step) saves a refreshed copy too, so
    that the web workers map it rather than each keeping its own new segment. Side
    effects: builds or refreshes the copy; saved sets under the cache directory."""
    if text_changes is None:
        # imported here: the backends import this module (through bm25.py)
        from paperfeed.index.backend import backend_for

        text_changes = backend_for(conn).text_changes
    stamp = _stamp(conn, text_changes)
    key = database_key(conn.engine)  # no password in memory keys or saved files
    cached = _INDEXES.get(key)
    if cached is not None and cached.stamp == stamp and not _wants_saved(conn, cached, save):
        return cached
    with _LOCK:
        cached = _INDEXES.get(key)
        if cached is not None and cached.stamp == stamp and \
                not _wants_saved(conn, cached, save):
            return cached
        start = time.perf_counter()
        fresh = _mapped_or_built(conn, key, stamp, cached, save)
        fresh.built_seconds = time.perf_counter() - start
        _INDEXES[key] = fresh
        return fresh


def has_current_saved_set(conn: Connection) -> bool:
    """True when the cache directory (use_cache_dir) holds a readable saved set of this
    database's postings at its current stamp: mapping it costs milliseconds, no
    tokenising. False without a cache directory. No side effects."""
    from paperfeed.index.backend import backend_for

    stamp = _stamp(conn, backend_for(conn).text_changes)
    return _load(conn, database_key(conn.engine), stamp) is not None


def _wants_saved(conn: Connection, index: TermIndex, save: bool) -> bool:
    """True when ``index`` (current) is a private copy that a saved set should replace:
    asked to save, or another process may have saved this stamp (looked for at most every
    RECHECK_SECONDS)."""
    if index.saved or _saved_root(conn) is None:
        return False
    if save:
        return True
    now = time.monotonic()
    if now - index.checked < RECHECK_SECONDS:
        return False
    index.checked = now
    return True


def _mapped_or_built(conn: Connection, key: str, stamp: tuple[int, int],
                     cached: TermIndex | None, save: bool) -> TermIndex:
    root = _saved_root(conn)
    name = _set_name(key)
    if root is not None:
        saved = _load(conn, key, stamp)
        if saved is not None:
            return saved
        if cached is not None and cached.stamp == stamp and not save:
            return cached  # still no saved set of this stamp: keep the private copy
    with build_lock(root, name):  # one process builds, the others map what it saved
        base = cached
        if root is not None:
            saved = _load(conn, key, stamp, any_stamp=cached is None)
            if saved is not None and saved.stamp == stamp:
                return saved
            base = saved if cached is None else cached
        fresh = _refresh(conn, base, stamp) if base is not None else None
        full = fresh is None
        if fresh is None:
            fresh = _build(conn, stamp)
        if root is None or not (full or save):
            return fresh
        return _save(conn, key, fresh) or fresh


# Saved copies: a set of .npy files per database and stamp in ``cache_dir/terms`` (the
# engine's, set by use_cache_dir, re-exported here; no saving without it;
# index/saved_arrays.py), written after every full build and by the worker's index step,
# mapped read-only by every process. A mapped copy of an older stamp is refreshed like any
# other (by ids and content hashes), so an old or foreign set can cost time but never give
# wrong results.
KEEP_SAVED = 4  # sets kept per database in cache_dir/terms (oldest removed first)
RECHECK_SECONDS = 30.0  # how often a private copy looks for a saved set of its stamp


def _saved_root(conn: Connection) -> Path | None:
    return saved_root(conn, "terms")


def _set_name(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def _save(conn: Connection, key: str, index: TermIndex) -> TermIndex | None:
    """Save ``index`` as a set and return it mapped (None if it could not be saved)."""
    root = _saved_root(conn)
    if root is None:
        return None
    arrays: dict[str, np.ndarray] = {"ids": index.ids, "hashes": index.hashes,
                                     "lengths": index.lengths, "alive": index.alive}
    for i, segment in enumerate(index.segments):
        for part, value in SortedVocab.arrays_of(segment.vocab).items():
            arrays[f"vocab_{part}{i}"] = value
        arrays[f"starts{i}"], arrays[f"rows{i}"] = segment.starts, segment.rows
        arrays[f"wtf{i}"] = segment.wtf
    meta = {"key": key, "stamp": list(index.stamp), "segments": len(index.segments)}
    path = save_set(root, _set_name(key), f"{index.stamp[0]}.{index.stamp[1]}", meta, arrays,
                    keep=KEEP_SAVED)
    loaded = _read(path, key) if path is not None else None
    return loaded


def _load(conn: Connection, key: str, stamp: tuple[int, int], *,
          any_stamp: bool = False) -> TermIndex | None:
    """The newest readable saved set of this database at ``stamp`` (or, with
    ``any_stamp``, of any stamp: the newest readable one), mapped."""
    root = _saved_root(conn)
    if root is None:
        return None
    tag = f"{stamp[0]}.{stamp[1]}"
    for path in saved_sets(root, _set_name(key)):
        if not any_stamp and path.name.split("-")[1] != tag:
            continue
        index = _read(path, key)
        if index is not None and (any_stamp or index.stamp == stamp):
            return index
    return None


def _read(path: Path, key: str) -> TermIndex | None:
    found = load_set(path)
    if found is None:
        return None
    meta, data = found
    try:
        if meta.get("key") != key:
            return None
        segments = [Segment(SortedVocab(data[f"vocab_text{i}"], data[f"vocab_offsets{i}"],
                                        data[f"vocab_tids{i}"]),
                            data[f"starts{i}"], data[f"rows{i}"], data[f"wtf{i}"])
                    for i in range(int(meta["segments"]))]
        index = TermIndex(stamp=(int(meta["stamp"][0]), int(meta["stamp"][1])),
                          ids=data["ids"], hashes=data["hashes"], lengths=data["lengths"],
                          alive=data["alive"], segments=segments, saved=True)
    except (KeyError, ValueError, TypeError, IndexError):
        log.warning("ignoring a saved set of the BM25 postings: %s", path, exc_info=True)
        return None
    if not len(index.ids) == len(index.hashes) == len(index.lengths) == len(index.alive):
        return None
    return index.finish()


def _text_rows(conn: Connection, ids: list[int] | None) -> Iterable[list[tuple]]:
    cols = (papers.c.id, papers.c.content_hash, papers.c.title, papers.c.abstract,
            papers.c.authors_text)
    if ids is None:
        result = conn.execute(select(*cols).order_by(papers.c.id)).yield_per(SEGMENT_DOCS)
        for part in result.partitions(SEGMENT_DOCS):
            yield [tuple(r) for r in part]
        return
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        yield [tuple(r) for r in conn.execute(select(*cols).where(papers.c.id.in_(chunk)))]


def _hash_bytes(values: Iterable[str | None]) -> np.ndarray:
    return np.array([(v or "").encode() for v in values], dtype="S32")


def _build(conn: Connection, stamp: tuple[int, int]) -> TermIndex:
    ids: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    segments: list[Segment] = []
    offset = 0
    for part in _text_rows(conn, None):
        segment, lens = build_segment([r[2:] for r in part], offset)
        segments.append(segment)
        ids.append(np.array([r[0] for r in part], dtype=np.int64))
        hashes.append(_hash_bytes(r[1] for r in part))
        lengths.append(lens)
        offset += len(part)
    return TermIndex(
        stamp=stamp,
        ids=np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
        hashes=np.concatenate(hashes) if hashes else np.zeros(0, dtype="S32"),
        lengths=np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.float32),
        alive=np.ones(offset, dtype=bool),
        segments=segments,
    ).finish()


def _refresh(conn: Connection, old: TermIndex, stamp: tuple[int, int]) -> TermIndex | None:
    """``old`` plus a segment of new / changed papers, or None when a rebuild is better."""
    current = conn.execute(select(papers.c.id, papers.c.content_hash)).all()
    now_ids = np.array([r[0] for r in current], dtype=np.int64)
    now_hashes = _hash_bytes(r[1] for r in current)
    order = np.argsort(old.ids, kind="stable")
    sorted_ids = old.ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, now_ids), max(len(sorted_ids) - 1, 0))
    if len(sorted_ids):
        rows = order[pos]
        same = (sorted_ids[pos] == now_ids) & old.alive[rows] & (old.hashes[rows] == now_hashes)
    else:
        rows = np.zeros(len(now_ids), dtype=np.int64)
        same = np.zeros(len(now_ids), dtype=bool)
    alive = np.zeros(len(old.ids), dtype=bool)
    alive[rows[same]] = True  # everything not confirmed unchanged is dropped
    changed = [int(i) for i in now_ids[~same]]
    if old.dead + (len(old.ids) - int(alive.sum())) + len(changed) > \
            REBUILD_FRACTION * max(len(now_ids), 1):
        return None
    if not changed:
        return TermIndex(stamp, old.ids, old.hashes, old.lengths, alive, old.segments).finish()
    docs = [r for part in _text_rows(conn, changed) for r in part]
    segment, lens = build_segment([r[2:] for r in docs], len(old.ids))
    return TermIndex(
        stamp=stamp,
        ids=np.concatenate([old.ids, np.array([r[0] for r in docs], dtype=np.int64)]),
        hashes=np.concatenate([old.hashes, _hash_bytes(r[1] for r in docs)]),
        lengths=np.concatenate([old.lengths, lens]),
        alive=np.concatenate([alive, np.ones(len(docs), dtype=bool)]),
        segments=[*old.segments, segment],
    ).finish()


def forget() -> None:
    """Drop every in-memory copy (tests and benchmarks that swap databases)."""
    with _LOCK:
        _INDEXES.clear()


def describe() -> dict[str, dict[str, float]]:
    """Size and build time of each copy, for `paperfeed index --status`."""
    return {url: {"papers": ix.n_alive, "segments": len(ix.segments),
                  "built_seconds": round(ix.built_seconds, 2), "mapped": float(ix.saved)}
            for url, ix in _INDEXES.items()}
