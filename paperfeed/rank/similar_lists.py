"""Stored similar-papers lists: computed during ``paperfeed index``, read by the request path.

For every paper with a vector, ``index_similar`` stores the ``STORED_SIZE`` best candidates
by text evidence (vector cosine + TF-IDF "more like this", rank/similar.py), so a request
only looks up what can change between two index runs or depends on the request: authors,
categories, co-votes, hidden papers, duplicates (rank/similar.py ``similar_papers``). The
vector part is computed for a batch of papers at once, one matrix-matrix product against
every vector of the model; the TF-IDF part per paper, over the in-memory postings.

Incremental and resumable like the rest of ``paperfeed index``: each batch of lists commits
on its own, and a run computes only

- papers without a current list: none yet, another ``STORED_METHOD`` (ranking or
  parameters changed: every list is recomputed), or a list computed from another vector
  (the paper's text or the model changed, so ``index`` re-embedded it);
- lists marked ``stale``, the refresh rule for older papers: when a paper N gets a list, each
  paper P in N's list whose stored list was computed before this run, does not hold N, and
  would rank N inside it (N's text score with P, seen from N, is above the last of P's
  list) is marked stale in the same transaction, then recomputed in the same run in bounded
  batches. A stale list is served until then.

The staleness rule, in short: a list is exact for the corpus it was computed from; a new
or re-embedded paper enters the lists of the papers near it on the next ``paperfeed index``;
what a new paper changes elsewhere (TF-IDF document frequencies, the floor of a far paper's
candidates) waits for the next recomputation of that list; a paper hidden later is dropped
at request time, a paper unhidden later enters the lists again when they are recomputed.
Lists are computed with every vector of the model (exact, also on PostgreSQL where the
online path uses the approximate HNSW index).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, select, update

from paperfeed.index.forked import ordered_map
from paperfeed.index.postings import TermIndex
from paperfeed.index.schema import paper_vectors
from paperfeed.index.terms import term_index
from paperfeed.index.tfidf import neighbours_in
from paperfeed.index.vectors import decode_embedding
from paperfeed.rank.similar import (
    DEFAULT_SIMILAR,
    STORED_LIMIT,
    STORED_METHOD,
    STORED_SIZE,
    TextEvidence,
    fuse_text,
    pack_neighbours,
    unpack_neighbours,
)
from paperfeed.store.database import dialect, write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.similar_schema import similar_lists

Progress = Callable[..., None]
_CHUNK = 500
# SQLite's backend takes this many more rows than asked and drops hidden ones afterwards
# (index/sqlite_backend.py); taking the same rows keeps the stored lists equal to it.
_HIDDEN_SLACK = 16
# Scores held at once by the batched products (float32: 64 MB); at 57,852 papers that is
# 290 papers per product, at a million papers 16.
_SCORES_BUDGET = 16 * 1024 * 1024


@dataclass(slots=True)
class SimilarRun:
    """What one ``index_similar`` run did."""

    papers: int = 0  # papers in the database
    computed: int = 0  # lists written for papers without a current list
    refreshed: int = 0  # stale lists recomputed
    up_to_date: int = 0
    waiting: int = 0  # papers without a vector from the model: served online
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        done = self.computed + self.refreshed
        return done / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"papers": self.papers, "computed": self.computed, "refreshed": self.refreshed,
                "up_to_date": self.up_to_date, "waiting": self.waiting,
                "seconds": round(self.seconds, 2), "per_second": round(self.per_second, 1)}


@dataclass(slots=True)
class _Corpus:
    """Every vector of the model in memory, and which papers are hidden."""

    ids: np.ndarray  # int64, row i is paper ids[i]
    matrix: np.ndarray  # float32 (n, dim)
    row_of: dict[int, int]
    hashes: dict[int, str]  # paper id -> text hash of its vector
    hidden: set[int]


def _load_corpus(conn: Connection, model_id: str) -> _Corpus:
    rows = conn.execute(
        select(paper_vectors.c.paper_id, paper_vectors.c.text_hash, paper_vectors.c.embedding)
        .where(paper_vectors.c.model_id == model_id).order_by(paper_vectors.c.paper_id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = (np.vstack([decode_embedding(r[2]) for r in rows]) if rows
              else np.zeros((0, 0), dtype=np.float32))
    hidden = set(conn.execute(select(papers.c.id).where(papers.c.hidden)).scalars())
    return _Corpus(ids, np.ascontiguousarray(matrix, dtype=np.float32),
                   {int(pid): i for i, pid in enumerate(ids)},
                   {int(r[0]): str(r[1]) for r in rows}, hidden)


def stale_lists(conn: Connection, model_id: str) -> tuple[list[int], list[int], int, int]:
    """Papers needing a list: (without a current one, newest first; marked stale), and the
    numbers of current lists and of papers without a vector from ``model_id``."""
    rows = conn.execute(
        select(papers.c.id, paper_vectors.c.model_id, paper_vectors.c.text_hash,
               similar_lists.c.method, similar_lists.c.model_id.label("list_model"),
               similar_lists.c.text_hash.label("list_hash"), similar_lists.c.stale)
        .outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
        .outerjoin(similar_lists, similar_lists.c.paper_id == papers.c.id)
        .order_by(papers.c.id.desc())
    )
    missing: list[int] = []
    stale: list[int] = []
    current = waiting = 0
    for r in rows:
        if r.model_id != model_id:
            waiting += 1
        elif (r.method != STORED_METHOD or r.list_model != model_id
              or r.list_hash != r.text_hash):
            missing.append(int(r.id))
        elif r.stale:
            stale.append(int(r.id))
        else:
            current += 1
    return missing, stale, current, waiting


def _vector_neighbours(corpus: _Corpus, paper_ids: Sequence[int],
                       depth: int) -> dict[int, dict[int, float]]:
    """Each paper's ``depth`` nearest visible papers by cosine (itself left out), as the
    online scan finds them: matrix-matrix products of a few papers against every vector at
    a time (at most _SCORES_BUDGET scores in memory at once)."""
    n = len(corpus.ids)
    take = min(n, depth + _HIDDEN_SLACK)
    step = max(1, _SCORES_BUDGET // max(n, 1))
    out: dict[int, dict[int, float]] = {}
    for start in range(0, len(paper_ids), step):
        chunk = paper_ids[start:start + step]
        queries = corpus.matrix[[corpus.row_of[pid] for pid in chunk]]
        scores = queries @ corpus.matrix.T
        for i, pid in enumerate(chunk):
            top = np.argpartition(scores[i], n - take)[n - take:]
            top = top[np.argsort(-scores[i][top], kind="stable")]
            # Re-score the chosen rows as the online scan does (matrix rows @ query), so
            # the stored cosines are the very float32 values the request path computes.
            exact = corpus.matrix[top] @ queries[i]
            cosine: dict[int, float] = {}
            for row, value in zip(top.tolist(), exact.tolist(), strict=True):
                other = int(corpus.ids[row])
                if other != pid and other not in corpus.hidden and len(cosine) < depth:
                    cosine[other] = value
            out[pid] = cosine
    return out


def _texts(conn: Connection, paper_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    return {int(r.id): (r.title, r.abstract) for r in conn.execute(
        select(papers.c.id, papers.c.title, papers.c.abstract)
        .where(papers.c.id.in_(list(paper_ids))))}


def lists_for(corpus: _Corpus, terms: TermIndex, paper_ids: Sequence[int],
              texts: dict[int, tuple[str, str]]) -> dict[int, TextEvidence]:
    """The text evidence of each paper of ``paper_ids`` (all with a vector in ``corpus``),
    exactly as ``similar_papers`` computes it online for a limit of STORED_LIMIT, from the
    postings ``terms`` and the papers' (title, abstract) ``texts``. No database: a worker
    of forked.ordered_map runs it."""
    params = DEFAULT_SIMILAR
    depth = max(params.depth, STORED_LIMIT + 5)
    neighbours = _vector_neighbours(corpus, paper_ids, depth)
    out: dict[int, TextEvidence] = {}
    for pid in paper_ids:
        vector = corpus.matrix[corpus.row_of[pid]]
        cosine = neighbours[pid]
        title, abstract = texts[pid]
        keyword = neighbours_in(terms, title, abstract, exclude_id=pid, depth=depth,
                                query_terms=params.query_terms)

        def cosines_of(ids: list[int], vector: np.ndarray = vector) -> dict[int, float]:
            found = [other for other in ids if other in corpus.row_of]
            rows = np.array([corpus.row_of[other] for other in found], dtype=np.int64)
            values = (corpus.matrix[rows] @ vector).tolist() if found else []
            return dict(zip(found, values, strict=True))

        evidence = fuse_text(cosine, keyword, has_vector=True, params=params,
                             size=STORED_SIZE, cosines_of=cosines_of)
        evidence.text.pop(pid, None)
        out[pid] = evidence
    return out


def _computed(engine: Engine, corpus: _Corpus, terms: TermIndex, queue: list[int],
              batch_size: int, workers: int | None
              ) -> Iterator[tuple[list[int], dict[int, TextEvidence]]]:
    """(batch, its lists) for each batch of ``queue`` in order, the lists computed by
    forked workers (index/forked.py) from the texts read here."""
    def jobs() -> Iterator[tuple[list[int], dict[int, tuple[str, str]]]]:
        for start in range(0, len(queue), batch_size):
            batch = queue[start:start + batch_size]
            with engine.connect() as conn:
                texts = _texts(conn, batch)
            yield batch, texts

    def task(job: tuple[list[int], dict[int, tuple[str, str]]]) -> dict[int, TextEvidence]:
        return lists_for(corpus, terms, job[0], job[1])

    for (batch, _), lists in ordered_map(task, jobs(), workers=workers):
        yield batch, lists


def _lists_to_mark(conn: Connection, lists: dict[int, TextEvidence],
                   older: set[int]) -> list[int]:
    """The refresh rule: papers of ``older`` (lists from before this run) in the new lists
    whose own stored list lacks the new paper although it would rank inside it."""
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for pid, evidence in lists.items():
        best = sorted(evidence.text, key=lambda o: (-evidence.text[o], o))[:STORED_SIZE]
        for other in best:
            if other in older:
                neighbours.setdefault(other, []).append((pid, evidence.text[other]))
    marked: list[int] = []
    ids = sorted(neighbours)
    for start in range(0, len(ids), _CHUNK):
        for other, raw in conn.execute(
            select(similar_lists.c.paper_id, similar_lists.c.neighbours)
            .where(similar_lists.c.paper_id.in_(ids[start:start + _CHUNK]))
        ):
            entries = unpack_neighbours(raw)
            held = set(entries["id"].tolist())
            if len(entries) < STORED_SIZE:
                last = -np.inf
            else:
                cos, kw = float(entries["cos"][-1]), float(entries["kw"][-1])
                last = (DEFAULT_SIMILAR.vector_weight * (0.0 if np.isnan(cos) else cos)
                        + DEFAULT_SIMILAR.keyword_weight * kw)
            if any(new not in held and score > last for new, score in neighbours[int(other)]):
                marked.append(int(other))
    return marked


def _write_lists(conn: Connection, lists: dict[int, TextEvidence], corpus: _Corpus,
                 model_id: str) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [{"paper_id": pid, "method": STORED_METHOD, "model_id": model_id,
             "text_hash": corpus.hashes[pid], "stale": False,
             "neighbours": pack_neighbours(evidence, STORED_SIZE), "computed_at": now}
            for pid, evidence in lists.items()]
    if not rows:
        return
    insert = dialect(conn).insert(similar_lists)
    conn.execute(insert.on_conflict_do_update(
        index_elements=[similar_lists.c.paper_id],
        set_={c: insert.excluded[c] for c in ("method", "model_id", "text_hash", "stale",
                                              "neighbours", "computed_at")},
    ), rows)


def index_similar(engine: Engine, model_id: str, *, batch_size: int = 256,
                  progress: Progress | None = None, workers: int | None = None) -> SimilarRun:
    """Store the similar-papers list of every paper with a vector from ``model_id`` that
    lacks a current one, then refresh the lists the new ones made stale (module docstring).

    Input: an engine (each batch of lists is its own write transaction, together with the
    stale marks it causes, so an interrupted run resumes where it stopped and ends in the
    same state) and the embedder's model id. The lists are computed by ``workers`` forked
    processes (default: one per core; index/forked.py), from the postings as they are when
    the run starts; this process reads, marks and writes, batch after batch in order.
    Side effects: rows of ``similar_lists`` inserted, replaced or marked stale;
    progress(done, total) after each batch.
    """
    start = time.perf_counter()
    with engine.connect() as conn:
        missing, stale, current, waiting = stale_lists(conn, model_id)
        older = set(conn.execute(select(similar_lists.c.paper_id)).scalars())
        corpus = _load_corpus(conn, model_id) if missing or stale else None
        terms = term_index(conn) if corpus is not None else None
    run = SimilarRun(papers=len(missing) + len(stale) + current + waiting,
                     up_to_date=current, waiting=waiting)
    if corpus is None or terms is None:
        run.seconds = time.perf_counter() - start
        return run
    done: set[int] = set()
    total = len(missing) + len(stale)
    if progress:
        progress(0, total)
    for refreshing in (False, True):
        queue = missing
        if refreshing:
            # The refresh pass: lists marked stale before or during this run.
            with engine.connect() as conn:
                queue = [pid for pid in stale_lists(conn, model_id)[1] if pid not in done]
            total = len(missing) + len(queue)
        for batch, lists in _computed(engine, corpus, terms, queue, batch_size, workers):
            with engine.connect() as conn:
                marks = ([] if refreshing
                         else _lists_to_mark(conn, lists, older - done - set(batch)))
            with write_transaction(engine) as conn:
                _write_lists(conn, lists, corpus, model_id)
                if marks:
                    conn.execute(update(similar_lists)
                                 .where(similar_lists.c.paper_id.in_(marks))
                                 .values(stale=True))
            done.update(batch)
            if refreshing:
                run.refreshed += len(batch)
            else:
                run.computed += len(batch)
            if progress:
                progress(run.computed + run.refreshed, total)
    run.seconds = time.perf_counter() - start
    return run
