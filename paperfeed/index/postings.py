"""Postings and BM25 scoring: per segment of papers, each stem's papers and field-weighted
term frequencies, and the same formula as FTS5's ``bm25()`` over them.

k1 1.2, b 0.75; weighted frequency = sum of column weight x count; length = all tokens of
the paper. The process-wide copy of a database's postings is kept by index/terms.py; the
keyword arm that queries it is index/bm25.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from paperfeed.index.text import STOPWORDS
from paperfeed.index.tokens import stems, tokens

# title, abstract, authors: BM25 column weights (tuned on SciFact train), also given to
# FTS5 by the SQLite backend (FTS_WEIGHTS)
FIELD_WEIGHTS = (3.0, 1.0, 1.0)
K1 = 1.2
B = 0.75
_STOP = -1


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


class SortedVocab:
    """Stem -> term id over arrays that may be read-only memory maps (a saved postings set,
    index/saved_arrays.py): the stems' UTF-8 bytes sorted and concatenated (``text``), where
    each starts (``offsets``, one more than stems) and each one's term id (``tids``). Looked
    up by binary search, so no process holds a private dict of the vocabulary."""

    __slots__ = ("offsets", "text", "tids")

    def __init__(self, text: np.ndarray, offsets: np.ndarray, tids: np.ndarray) -> None:
        self.text, self.offsets, self.tids = text, offsets, tids

    @classmethod
    def arrays_of(cls, vocab: dict[str, int] | SortedVocab) -> dict[str, np.ndarray]:
        """The arrays a SortedVocab of ``vocab`` is made of ("text", "offsets", "tids")."""
        if isinstance(vocab, SortedVocab):
            return {"text": vocab.text, "offsets": vocab.offsets, "tids": vocab.tids}
        pairs = sorted((word.encode(), tid) for word, tid in vocab.items())
        lengths = np.fromiter((len(w) for w, _ in pairs), dtype=np.int64, count=len(pairs))
        offsets = np.zeros(len(pairs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return {"text": np.frombuffer(b"".join(w for w, _ in pairs), dtype=np.uint8),
                "offsets": offsets,
                "tids": np.fromiter((t for _, t in pairs), dtype=np.int32, count=len(pairs))}

    def __len__(self) -> int:
        return len(self.tids)

    def _word(self, k: int) -> bytes:
        return self.text[int(self.offsets[k]):int(self.offsets[k + 1])].tobytes()

    def get(self, stem: str) -> int | None:
        key = stem.encode()
        lo, hi = 0, len(self.tids)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._word(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self.tids) and self._word(lo) == key:
            return int(self.tids[lo])
        return None

    def items(self) -> Iterator[tuple[str, int]]:
        for k in range(len(self.tids)):
            yield self._word(k).decode(), int(self.tids[k])

    def __iter__(self) -> Iterator[str]:
        return (word for word, _ in self.items())


@dataclass(slots=True)
class Segment:
    """Postings of some papers: term t's entries are ``rows[starts[t]:starts[t+1]]``
    (rows of the whole index, i.e. already offset) with weighted frequencies ``wtf``.
    ``vocab`` is a dict for a segment built in this process, a SortedVocab for a mapped
    one."""

    vocab: dict[str, int] | SortedVocab
    starts: np.ndarray  # int64, len(vocab) + 1
    rows: np.ndarray  # int32
    wtf: np.ndarray  # float32

    def postings(self, stem: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.vocab.get(stem)
        if tid is None:
            return None
        a, b = int(self.starts[tid]), int(self.starts[tid + 1])
        return self.rows[a:b], self.wtf[a:b]

    def count(self, stem: str) -> int:
        """How many papers of this segment (dead ones included) contain ``stem``."""
        tid = self.vocab.get(stem)
        return 0 if tid is None else int(self.starts[tid + 1] - self.starts[tid])


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
    saved: bool = False  # mapped from a saved set (index/terms.py), not a private copy
    checked: float = 0.0  # when a private copy last looked for a saved set (monotonic)

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
