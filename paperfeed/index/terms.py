"""In-memory BM25 over title, abstract and authors: the keyword arm's scorer.

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
refreshed when the papers' text changes. Freshness: ``index_state`` row
``papers_text`` is moved by triggers on text updates and deletes (and, on PostgreSQL, on
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
import math
import os
import re
import tempfile
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, func, select

from paperfeed.index.schema import index_state
from paperfeed.index.text import STOPWORDS, keyword_terms
from paperfeed.store.database import database_key
from paperfeed.store.schema import papers

log = logging.getLogger(__name__)
TEXT_GENERATION = "papers_text"  # the index_state row moved by text changes
# title, abstract, authors: BM25 column weights (tuned on SciFact train), also given to
# FTS5 by the SQLite backend (FTS_WEIGHTS)
FIELD_WEIGHTS = (3.0, 1.0, 1.0)
K1 = 1.2
B = 0.75
SEGMENT_DOCS = 100_000
REBUILD_FRACTION = 0.2  # rebuild once replaced + new papers pass this share of the corpus
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = -1


def fold(text: str) -> str:
    """Lower-cased, with diacritics removed (``remove_diacritics``)."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _Stems:
    """Porter stems of folded words, cached (the vocabulary is small, the text is not)."""

    def __init__(self) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer("porter")
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, word: str) -> str:
        stem = self._cache.get(word)
        if stem is None:
            with self._lock:
                stem = self._stemmer.stemWord(word)
            self._cache[word] = stem
        return stem


_STEMS: _Stems | None = None


def stems() -> _Stems:
    global _STEMS
    if _STEMS is None:
        _STEMS = _Stems()
    return _STEMS


def query_stems(words: Iterable[str]) -> list[str]:
    """The distinct indexed stems of query words (stopwords have no postings)."""
    stem = stems()
    out: list[str] = []
    for word in words:
        for token in _WORD.findall(fold(word)):
            if token in STOPWORDS:
                continue
            s = stem(token)
            if s not in out:
                out.append(s)
    return out


# ASCII text is tokenised by a byte table (letters and digits kept, lower-cased, the rest
# becomes spaces) and split(): 3x faster than the regex and the same tokens.
_ASCII_TABLE = bytes(
    (c + 32 if 65 <= c <= 90 else c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122)
    else 32
    for c in range(256)
)


def tokens(text: str) -> list[str] | list[bytes]:
    """The folded words of ``text`` (bytes for ASCII text, str otherwise)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE).split()
    return _WORD.findall(fold(text))


class _TermIds(dict[str | bytes, int]):
    """Folded token -> term id of its stem (``_STOP`` for stopwords); grows on lookup."""

    def __init__(self, vocab: dict[str, int]) -> None:
        super().__init__()
        self.vocab = vocab
        self.stem = stems()

    def __missing__(self, token: str | bytes) -> int:
        word = token.decode("ascii") if isinstance(token, bytes) else token
        if word in STOPWORDS:
            tid = _STOP
        else:
            tid = self.vocab.setdefault(self.stem(word), len(self.vocab))
        self[token] = tid
        return tid


@dataclass(slots=True)
class Segment:
    """Postings of some papers: term t's entries are ``rows[starts[t]:starts[t+1]]``
    (rows of the whole index, i.e. already offset) with weighted frequencies ``wtf``."""

    vocab: dict[str, int]
    starts: np.ndarray  # int64, len(vocab) + 1
    rows: np.ndarray  # int32
    wtf: np.ndarray  # float32

    def postings(self, stem: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.vocab.get(stem)
        if tid is None:
            return None
        a, b = int(self.starts[tid]), int(self.starts[tid + 1])
        return self.rows[a:b], self.wtf[a:b]


def build_segment(docs: Sequence[tuple[str | None, str | None, str | None]],
                  row_offset: int) -> tuple[Segment, np.ndarray]:
    """Postings and token counts (lengths) of ``docs`` = (title, abstract, authors)."""
    vocab: dict[str, int] = {}
    lookup = _TermIds(vocab)
    get = lookup.__getitem__
    term_ids: list[int] = []
    extend = term_ids.extend
    counts = np.zeros(len(docs) * 3, dtype=np.int64)
    k = 0
    for doc in docs:
        for text in doc:
            if text:
                words = tokens(text)
                counts[k] = len(words)
                extend(map(get, words))
            k += 1
    n = len(docs)
    lengths = counts.reshape(n, 3).sum(axis=1).astype(np.float32) if n else \
        np.zeros(0, dtype=np.float32)
    tids = np.fromiter(term_ids, dtype=np.int64, count=len(term_ids))
    doc_rows = np.repeat(np.repeat(np.arange(n, dtype=np.int64), 3), counts)
    weights = np.repeat(np.tile(np.asarray(FIELD_WEIGHTS, dtype=np.float32), n), counts)
    keep = tids != _STOP
    tids, doc_rows, weights = tids[keep], doc_rows[keep], weights[keep]
    keys = tids * max(n, 1) + doc_rows
    order = np.argsort(keys, kind="stable")
    keys, weights = keys[order], weights[order]
    if len(keys):
        first = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
        wtf = np.add.reduceat(weights, first).astype(np.float32)
        keys = keys[first]
    else:
        wtf = np.zeros(0, dtype=np.float32)
    terms = keys // max(n, 1)
    rows = (keys % max(n, 1) + row_offset).astype(np.int32)
    starts = np.searchsorted(terms, np.arange(len(vocab) + 1)).astype(np.int64)
    return Segment(vocab, starts, rows, wtf), lengths


@dataclass(slots=True)
class TermIndex:
    """BM25 postings of one database's papers; row i is paper ``ids[i]``."""

    stamp: tuple[int, int]
    ids: np.ndarray  # int64
    hashes: np.ndarray  # bytes (S32): content hash per row, to spot changed papers
    lengths: np.ndarray  # float32 tokens per paper
    alive: np.ndarray  # bool: False for replaced / deleted papers
    segments: list[Segment] = field(default_factory=list)
    norm: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    n_alive: int = 0
    built_seconds: float = 0.0

    def finish(self) -> TermIndex:
        self.n_alive = int(self.alive.sum())
        live = self.lengths[self.alive]
        avgdl = float(live.mean()) if len(live) else 1.0
        self.norm = (K1 * (1.0 - B + B * self.lengths / max(avgdl, 1e-9))).astype(np.float32)
        return self

    @property
    def dead(self) -> int:
        return len(self.ids) - self.n_alive

    def scores(self, query: Sequence[str]) -> np.ndarray | None:
        """BM25 of every row for the stems ``query`` (0 where none occurs; dead rows 0),
        or None when no stem is in the index."""
        total = np.zeros(len(self.ids), dtype=np.float32)
        found = False
        n = self.n_alive
        for stem in query:
            parts = [p for p in (s.postings(stem) for s in self.segments) if p is not None]
            if not parts:
                continue
            rows = parts[0][0] if len(parts) == 1 else np.concatenate([p[0] for p in parts])
            wtf = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
            df = int(self.alive[rows].sum()) if self.dead else len(rows)
            if df == 0:
                continue
            found = True
            idf = math.log((n - df + 0.5) / (df + 0.5))
            idf = idf if idf > 0 else 1e-6  # as FTS5: very common words still count a little
            total[rows] += np.float32(idf) * wtf * np.float32(K1 + 1.0) / (wtf + self.norm[rows])
        if not found:
            return None
        if self.dead:
            total[~self.alive] = 0.0
        return total


_INDEXES: dict[str, TermIndex] = {}
_LOCK = threading.Lock()


def _stamp(conn: Connection) -> tuple[int, int]:
    """Changes when the papers' text may have changed (triggers of migration 0005_terms)."""
    # the change counter first: a change committed between the two reads only costs one
    # more refresh, never a missed one
    if conn.dialect.name == "postgresql":
        changes = conn.exec_driver_sql("SELECT count(*) FROM papers_text_changes").scalar()
    else:
        changes = conn.execute(
            select(index_state.c.generation).where(index_state.c.name == TEXT_GENERATION)
        ).scalar()
    top = conn.execute(select(func.max(papers.c.id))).scalar()
    return int(changes or 0), int(top or 0)


def term_index(conn: Connection) -> TermIndex:
    """The process-wide BM25 copy of this database's papers, refreshed when stale."""
    stamp = _stamp(conn)
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


def top_rows(scores: np.ndarray, ids: np.ndarray, depth: int,
             mask: np.ndarray | None = None) -> np.ndarray:
    """Rows of the ``depth`` best positive scores (ties: smaller paper id first)."""
    ok = scores > 0
    if mask is not None:
        ok &= mask
    candidates = np.flatnonzero(ok)
    if len(candidates) > depth:
        keep = np.argpartition(-scores[candidates], depth - 1)[:depth]
        # equal scores at the cut: widen to all of them so the tie-break is by id
        cut = scores[candidates[keep]].min()
        candidates = candidates[scores[candidates] >= cut]
    order = np.lexsort((ids[candidates], -scores[candidates]))
    return candidates[order][:depth]


def keyword_candidates(conn: Connection, words: list[str], phrases: list[list[str]],
                       excluded: list[list[str]], conditions: list[ColumnElement[bool]],
                       limit: int, *, narrowing: bool,
                       fulltext_ids: Callable[..., np.ndarray]) -> list[tuple[int, float]] | None:
    """The keyword arm over the postings: BM25 of the words and the phrases' words, the
    "phrases" required and the -excluded words left out as the database's full-text index
    says (``fulltext_ids(conn, phrases, every=...)``). None when no word has postings (a
    query of stopwords only): the caller asks its full-text index instead."""
    stems = query_stems(keyword_terms(words) + [w for p in phrases for w in p])
    if not stems:
        return None
    return bm25_candidates(
        conn, stems, conditions, limit, narrowing=narrowing,
        must=fulltext_ids(conn, phrases, every=True) if phrases else None,
        must_not=fulltext_ids(conn, excluded, every=False) if excluded else None,
    )


def bm25_candidates(conn: Connection, query: Sequence[str],
                    conditions: list[ColumnElement[bool]], limit: int, *, narrowing: bool,
                    must: np.ndarray | None = None,
                    must_not: np.ndarray | None = None) -> list[tuple[int, float]]:
    """(paper id, BM25) of the ``limit`` best papers for the stems ``query``.

    ``must``: ids of which one is required (phrase matches; they qualify even when no other
    word occurs); ``must_not``: ids excluded. With ``narrowing`` filters the ids passing
    ``conditions`` are selected first and masked in; otherwise the top hits are checked
    against ``conditions`` afterwards (only hidden papers can fail, and they are few).
    """
    if limit <= 0:
        return []
    index = term_index(conn)
    scores = index.scores(query)
    if scores is None:
        if must is None:
            return []
        scores = np.zeros(len(index.ids), dtype=np.float32)
    mask: np.ndarray | None = None
    if must is not None:
        mask = np.isin(index.ids, must)
        scores = np.where(mask, np.maximum(scores, np.float32(1e-9)), scores)
    if must_not is not None and len(must_not):
        keep = ~np.isin(index.ids, must_not)
        mask = keep if mask is None else mask & keep
    if narrowing:
        allowed = np.fromiter(conn.execute(select(papers.c.id).where(*conditions)).scalars(),
                              dtype=np.int64)
        keep = np.isin(index.ids, allowed)
        mask = keep if mask is None else mask & keep
    rows = top_rows(scores, index.ids, limit + (0 if narrowing else 16), mask)
    candidate_ids = [int(i) for i in index.ids[rows]]
    if not candidate_ids:
        return []
    visible = candidate_ids if narrowing else set(conn.execute(
        select(papers.c.id).where(papers.c.id.in_(candidate_ids), *conditions)).scalars())
    visible = set(visible)
    out = [(pid, float(scores[row])) for pid, row in zip(candidate_ids, rows, strict=True)
           if pid in visible]
    return out[:limit]


def forget() -> None:
    """Drop every in-memory copy (tests and benchmarks that swap databases)."""
    with _LOCK:
        _INDEXES.clear()


def describe() -> dict[str, dict[str, float]]:
    """Size and build time of each copy, for `paperfeed index --status`."""
    return {url: {"papers": ix.n_alive, "segments": len(ix.segments),
                  "built_seconds": round(ix.built_seconds, 2)}
            for url, ix in _INDEXES.items()}
