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
saved to ``cache_dir/terms`` (when the server or CLI set one), so the next process starts
from it (~0.1 s instead of ~4.5 s at 57,852 papers) and only tokenises what changed since.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from paperfeed.index.postings import Segment, TermIndex, build_segment
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


def term_index(conn: Connection, text_changes: TextChanges | None = None) -> TermIndex:
    """The process-wide BM25 copy of this database's papers, refreshed when stale.

    ``text_changes`` is the search backend's counter of text changes (the backends pass
    their own; by default backend_for(conn).text_changes). Side effects: builds or
    refreshes the copy, and saves a full build under the cache directory (use_cache_dir)."""
    if text_changes is None:
        # imported here: the backends import this module (through bm25.py)
        from paperfeed.index.backend import backend_for

        text_changes = backend_for(conn).text_changes
    stamp = _stamp(conn, text_changes)
    key = database_key(conn.engine)  # no password in memory keys or saved files
    cached = _INDEXES.get(key)
    if cached is not None and cached.stamp == stamp:
        return cached
    with _LOCK:
        cached = _INDEXES.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached
        start = time.perf_counter()
        if cached is None:
            cached = _load(conn, key)  # saved by an earlier process: refreshed like any other
            if cached is not None and cached.stamp == stamp:
                cached.built_seconds = time.perf_counter() - start
                _INDEXES[key] = cached
                return cached
        fresh = _refresh(conn, cached, stamp) if cached is not None else None
        if fresh is None:
            fresh = _build(conn, stamp)
            _save(conn, key, fresh)
        fresh.built_seconds = time.perf_counter() - start
        _INDEXES[key] = fresh
        return fresh


# Saved copies: one .npz file per database in ``cache_dir/terms`` (the engine's, set by
# use_cache_dir; no saving without it), written after every full build, atomically
# (temporary file + rename). A loaded copy is checked against the database like a cached
# one, by ids and content hashes, so an old or foreign file can cost time but never give
# wrong results.
CACHE_DIR_OPTION = "paperfeed_cache_dir"  # an engine execution option
_FORMAT = 1
KEEP_SAVED = 8  # files kept in cache_dir/terms (oldest removed first)


def use_cache_dir(engine: Engine, path: str | Path | None) -> None:
    """Save copies built on ``engine`` under ``path``/terms and start processes from them.
    Side effect: sets an execution option on ``engine`` (None: no saved copies)."""
    engine.update_execution_options(**{CACHE_DIR_OPTION: Path(path).expanduser() / "terms"
                                       if path else None})


def _saved_path(conn: Connection, key: str) -> Path | None:
    cache_dir: Path | None = conn.get_execution_options().get(CACHE_DIR_OPTION)
    if cache_dir is None:
        return None
    digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    return cache_dir / f"{digest}.npz"


def _save(conn: Connection, key: str, index: TermIndex) -> None:
    path = _saved_path(conn, key)
    if path is None:
        return
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps({"format": _FORMAT, "key": key,
                                          "stamp": list(index.stamp),
                                          "segments": len(index.segments)}).encode(), np.uint8),
        "ids": index.ids, "hashes": index.hashes, "lengths": index.lengths,
        "alive": index.alive,
    }
    for i, segment in enumerate(index.segments):
        words = sorted(segment.vocab, key=segment.vocab.__getitem__)
        arrays[f"vocab{i}"] = np.frombuffer("\n".join(words).encode(), np.uint8)
        arrays[f"starts{i}"], arrays[f"rows{i}"] = segment.starts, segment.rows
        arrays[f"wtf{i}"] = segment.wtf
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
        saved = sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime)
        for old in saved[:-KEEP_SAVED]:
            old.unlink(missing_ok=True)
    except OSError:
        log.warning("could not save the BM25 postings to %s", path, exc_info=True)
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)


def _load(conn: Connection, key: str) -> TermIndex | None:
    path = _saved_path(conn, key)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes())
            if meta.get("format") != _FORMAT or meta.get("key") != key:
                return None
            segments = []
            for i in range(int(meta["segments"])):
                text = data[f"vocab{i}"].tobytes().decode()
                words = text.split("\n") if text else []
                segments.append(Segment({w: t for t, w in enumerate(words)},
                                        data[f"starts{i}"], data[f"rows{i}"], data[f"wtf{i}"]))
            index = TermIndex(stamp=(int(meta["stamp"][0]), int(meta["stamp"][1])),
                              ids=data["ids"], hashes=data["hashes"], lengths=data["lengths"],
                              alive=data["alive"], segments=segments)
        if not len(index.ids) == len(index.hashes) == len(index.lengths) == len(index.alive):
            return None
        return index.finish()
    except (OSError, ValueError, KeyError, json.JSONDecodeError, zipfile.BadZipFile):
        log.warning("ignoring an unreadable saved copy of the BM25 postings: %s", path,
                    exc_info=True)
        return None


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
                  "built_seconds": round(ix.built_seconds, 2)}
            for url, ix in _INDEXES.items()}
