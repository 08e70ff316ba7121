"""SQLite side of the search index: FTS5 keyword queries and the in-memory vector matrix.

Keyword search is BM25 over title, abstract and authors with per-column weights: the
``papers_fts`` FTS5 table is the index kept in the database (phrases, exclusions), the
scores come from its in-memory twin (index/bm25.py). Vectors are float32 blobs in
``paper_vectors``; each process keeps one matrix per (database, model) (a saved set mapped
read-only when a cache directory is set: the web workers share one) and searches it
exactly with a matrix-vector product, scanned in int8 first (index/vector_scan.py); from
IVF_MIN_ROWS vectors on, unfiltered queries go through an IVF index (index/ivf.py) built
when the matrix loads. ``index_state.generation``, moved by triggers on every vector
change, tells the process when its copy is stale and must be reloaded.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    column,
    literal_column,
    select,
    table,
    text,
)

from paperfeed.index import bm25
from paperfeed.index.ivf import IvfLists, build_ivf, search_ivf
from paperfeed.index.postings import FIELD_WEIGHTS
from paperfeed.index.saved_arrays import build_lock, load_set, save_set, saved_root, saved_sets
from paperfeed.index.schema import index_state, paper_vectors
from paperfeed.index.text import keyword_terms, match_groups, match_stages
from paperfeed.index.vector_scan import INT8_MIN_ROWS, Int8Rows, top_rows
from paperfeed.store.database import database_key
from paperfeed.store.schema import papers

NAME = "sqlite"
# BM25 weights of the FTS5 columns (title, abstract, authors): the postings' weights.
FTS_WEIGHTS = FIELD_WEIGHTS
_fts = table("papers_fts", column("rowid"))


def fts5_expression(terms: list[str], phrases: list[list[str]],
                    excluded: list[list[str]], *, at_least: int = 1) -> str | None:
    """An FTS5 MATCH expression built only from quoted words, or None if nothing to match.

    Phrases are required; of the words, ``at_least`` must occur (1: any, 2: some pair,
    or all of them when ``at_least`` >= their number); BM25 ranks by all. The phrases join
    the word group too, so that a phrase-only match still qualifies.
    """
    def quoted(words: list[str]) -> str:
        return '"' + " ".join(w.replace('"', "") for w in words) + '"'

    required = [quoted(p) for p in phrases if p]
    optional = [quoted([t]) for t in keyword_terms(terms)] + required
    if not optional:
        return None
    expr = "(" + " OR ".join(match_groups(optional, at_least, " AND ")) + ")"
    if required:
        expr = " AND ".join(required) + " AND " + expr
    if excluded:
        expr += " NOT (" + " OR ".join(quoted(e) for e in excluded if e) + ")"
    return expr


def keyword_candidates(conn: Connection, terms: list[str], phrases: list[list[str]],
                       excluded: list[list[str]], conditions: list[ColumnElement[bool]],
                       limit: int, weights: tuple[float, float, float] = FTS_WEIGHTS, *,
                       narrowing: bool = True) -> list[tuple[int, float]]:
    """(paper id, BM25 score, higher is better) of the best keyword matches.

    BM25 of every paper containing any of the words comes from the in-memory postings
    (index/bm25.py: the same scores as FTS5's ``bm25()``, computed over the matches only);
    FTS5 answers which papers contain the "phrases" (required) and -excluded words.
    A query of stopwords only (which the postings leave out) is answered by FTS5 alone:
    papers with all the words first, any word only when fewer than ``limit`` have all.
    """
    if limit <= 0:
        return []
    if weights == FTS_WEIGHTS:
        scored = bm25.keyword_candidates(conn, terms, phrases, excluded, conditions, limit,
                                         narrowing=narrowing, fulltext_ids=fulltext_ids,
                                         text_changes=text_changes)
        if scored is not None:
            return scored
    found: list[tuple[int, float]] = []
    for at_least in match_stages(terms):
        expr = fts5_expression(terms, phrases, excluded, at_least=at_least)
        found = _bm25_query(conn, expr, conditions, limit, weights, narrowing)
        if len(found) >= limit:
            break
    return found


def fulltext_ids(conn: Connection, phrases: list[list[str]], *, every: bool,
                 among: list[int] | None = None) -> np.ndarray:
    """Ids of the papers (of ``among``, if given) containing every (or any) of ``phrases``
    (lists of words)."""
    parts = ['"' + " ".join(w.replace('"', "") for w in p) + '"' for p in phrases if p]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    expr = (" AND " if every else " OR ").join(parts)
    stmt = select(_fts.c.rowid).where(text("papers_fts MATCH :fts_expr").bindparams(fts_expr=expr))
    if among is not None:
        stmt = stmt.where(_fts.c.rowid.in_(among))
    return np.fromiter(conn.execute(stmt).scalars(), dtype=np.int64)


def _bm25_query(conn: Connection, expr: str | None, conditions: list[ColumnElement[bool]],
                limit: int, weights: tuple[float, float, float],
                narrowing: bool) -> list[tuple[int, float]]:
    if expr is None:
        return []
    rank: ColumnElement[float] = literal_column(
        "bm25(papers_fts, {:.4f}, {:.4f}, {:.4f})".format(*weights))
    match = text("papers_fts MATCH :fts_expr").bindparams(fts_expr=expr)
    if narrowing:
        stmt = (select(_fts.c.rowid, rank)
                .select_from(_fts.join(papers, papers.c.id == _fts.c.rowid))
                .where(match, *conditions).order_by(rank).limit(limit))
        return [(int(pid), -float(score)) for pid, score in conn.execute(stmt)]
    rows = conn.execute(select(_fts.c.rowid, rank).where(match).order_by(rank)
                        .limit(limit + 16)).all()
    if not rows:
        return []
    visible = set(conn.execute(select(papers.c.id).where(
        papers.c.id.in_([r[0] for r in rows]), *conditions)).scalars())
    return [(int(pid), -float(score)) for pid, score in rows if pid in visible][:limit]


def matching_ids(conn: Connection, any_of: list[list[str]], paper_ids: list[int]) -> set[int]:
    """Which of ``paper_ids`` contain any of the words/phrases ``any_of``."""
    if not paper_ids:
        return set()
    return {int(i) for i in fulltext_ids(conn, any_of, every=False, among=paper_ids)}


# The index_state row that triggers of migration 0005_terms move on papers' text updates
# and deletes (new papers always get a larger id here: the postings see them by max(id)).
TEXT_GENERATION = "papers_text"


def text_changes(conn: Connection) -> int:
    """The counter of papers' text updates and deletes (the BM25 postings' stamp)."""
    return int(conn.execute(
        select(index_state.c.generation).where(index_state.c.name == TEXT_GENERATION)
    ).scalar() or 0)


def encode_embedding(vector: np.ndarray) -> bytes:
    """How a vector is stored: little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


# From this many vectors on, unfiltered searches use an IVF index (approximate; recall@10
# 0.95-0.96 at 1M with 128 of 1,024 clusters probed) instead of scanning the whole matrix.
IVF_MIN_ROWS = 200_000
IVF_NPROBE = 128


@dataclass(slots=True)
class VectorMatrix:
    """All vectors of one model in one database (row i is paper ids[i]); with ``lists``
    the rows are in IVF cluster order; ``int8`` is the int8 copy exact scans start from
    (index/vector_scan.py), from INT8_MIN_ROWS rows on."""

    generation: int
    ids: np.ndarray  # int64
    matrix: np.ndarray  # float32 (n, dim)
    lists: IvfLists | None = None
    int8: Int8Rows | None = None


_MATRICES: dict[tuple[str, str], VectorMatrix] = {}
KEEP_VECTOR_SETS = 2  # saved sets kept per (database, model) in cache_dir/vectors
_LOCK = threading.Lock()


def vector_matrix(conn: Connection, model_id: str) -> VectorMatrix:
    """The process-wide copy of ``model_id``'s vectors, reloaded when stale.

    With a cache directory (use_cache_dir) the ids, the matrix and the IVF lists are a saved
    set per vector generation, mapped read-only by every process (index/saved_arrays.py):
    one process reads the vectors and saves them, the others map what it saved. The int8
    copy stays in each process (ONNX Runtime packs its weights into its own memory)."""
    generation = int(conn.execute(
        select(index_state.c.generation).where(index_state.c.name == "paper_vectors")
    ).scalar() or 0)
    key = (database_key(conn.engine), model_id)
    with _LOCK:
        cached = _MATRICES.get(key)
        if cached is not None and cached.generation == generation:
            return cached
        root = saved_root(conn, "vectors")
        name = hashlib.blake2b("#".join(key).encode(), digest_size=10).hexdigest()
        fresh = _mapped_matrix(root, name, key, generation)
        if fresh is None:
            with build_lock(root, name):  # one process reads and saves, the others map
                fresh = _mapped_matrix(root, name, key, generation) or \
                    _save_matrix(root, name, key, _read_matrix(conn, model_id, generation))
        if len(fresh.ids) >= INT8_MIN_ROWS:
            fresh.int8 = Int8Rows(fresh.matrix)
        _MATRICES[key] = fresh
        return fresh


def _read_matrix(conn: Connection, model_id: str, generation: int) -> VectorMatrix:
    rows = conn.execute(
        select(paper_vectors.c.paper_id, paper_vectors.c.embedding)
        .where(paper_vectors.c.model_id == model_id)
        .order_by(paper_vectors.c.paper_id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    if rows:
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4")
        matrix = matrix.reshape(len(rows), -1).astype(np.float32, copy=False)
    else:
        matrix = np.zeros((0, 0), dtype=np.float32)
    fresh = VectorMatrix(generation, ids, matrix)
    if len(ids) >= IVF_MIN_ROWS:
        order, fresh.lists = build_ivf(matrix)
        fresh.ids, fresh.matrix = ids[order], np.ascontiguousarray(matrix[order])
    return fresh


def _save_matrix(root: Path | None, name: str, key: tuple[str, str],
                 fresh: VectorMatrix) -> VectorMatrix:
    """``fresh`` saved and mapped back (itself when there is nowhere to save it)."""
    if root is None:
        return fresh
    arrays = {"ids": fresh.ids, "matrix": fresh.matrix}
    if fresh.lists is not None:
        arrays.update(centroids=fresh.lists.centroids, offsets=fresh.lists.offsets)
    path = save_set(root, name, str(fresh.generation), {"key": list(key)}, arrays,
                    keep=KEEP_VECTOR_SETS)
    mapped = _mapped_matrix(root, name, key, fresh.generation, only=path) if path else None
    return mapped or fresh


def _mapped_matrix(root: Path | None, name: str, key: tuple[str, str], generation: int,
                   only: Path | None = None) -> VectorMatrix | None:
    """The saved set of this generation, mapped; None when there is none readable."""
    if root is None:
        return None
    for path in [only] if only else saved_sets(root, name):
        if path.name.split("-")[1] != str(generation):
            continue
        found = load_set(path)
        if found is None or found[0].get("key") != list(key):
            continue
        arrays = found[1]
        lists = IvfLists(arrays["centroids"], arrays["offsets"]) if "centroids" in arrays \
            else None
        if arrays["matrix"].ndim != 2 or len(arrays["matrix"]) != len(arrays["ids"]):
            continue
        return VectorMatrix(generation, arrays["ids"], arrays["matrix"], lists)
    return None


def vector_candidates(conn: Connection, query: np.ndarray, model_id: str,
                      conditions: list[ColumnElement[bool]], limit: int, *,
                      narrowing: bool) -> list[tuple[int, float]]:
    """(paper id, cosine similarity) of the ``limit`` nearest papers passing ``conditions``.

    Exact search (index/vector_scan.py: an int8 scan, then float32 re-scoring of every row
    that could be among the best). With narrowing filters the allowed ids are selected first
    and masked in, so a filter never empties the result; otherwise the top hits are checked
    afterwards (only hidden papers can fail, and they are few).
    """
    index = vector_matrix(conn, model_id)
    if limit <= 0 or len(index.ids) == 0 or index.matrix.shape[1] != query.shape[0]:
        return []
    query = np.asarray(query, dtype=np.float32)
    depth = min(len(index.ids), limit + 16)
    if index.lists is not None and not narrowing:
        top, top_scores = search_ivf(index.matrix, index.lists, query, depth, IVF_NPROBE)
    else:
        allowed = None
        if narrowing:
            allowed_ids = np.fromiter(
                conn.execute(select(papers.c.id).where(*conditions)).scalars(), dtype=np.int64)
            allowed = _id_mask(index.ids, allowed_ids)
        top, top_scores = top_rows(index.matrix, query, depth, int8=index.int8,
                                   allowed=allowed)
    candidate_ids = [int(i) for i in index.ids[top]]
    if not candidate_ids:
        return []
    visible = set(conn.execute(
        select(papers.c.id).where(papers.c.id.in_(candidate_ids), *conditions)
    ).scalars())
    out = [(pid, float(score)) for pid, score in zip(candidate_ids, top_scores, strict=True)
           if pid in visible]
    return out[:limit]


def _id_mask(ids: np.ndarray, allowed_ids: np.ndarray) -> np.ndarray:
    """Boolean mask over ``ids``: which are in ``allowed_ids`` (a lookup table by id, linear
    in the sizes rather than the sorting np.isin does)."""
    if len(ids) == 0 or len(allowed_ids) == 0:
        return np.zeros(len(ids), dtype=bool)
    size = int(max(ids.max(), allowed_ids.max())) + 1
    table = np.zeros(size, dtype=bool)
    table[allowed_ids[allowed_ids >= 0]] = True
    return table[ids]


def prepare_vector_query(conn: Connection, limit: int) -> None:
    """Nothing to tune per query on SQLite (kept for symmetry with PostgreSQL)."""


def forget_matrices() -> None:
    """Drop every in-memory matrix (tests and benchmarks that swap databases)."""
    with _LOCK:
        _MATRICES.clear()


def describe() -> dict[str, Any]:
    """Sizes of the in-memory matrices, for `paperfeed index --status`."""
    return {f"{url}#{model}": len(m.ids) for (url, model), m in _MATRICES.items()}
