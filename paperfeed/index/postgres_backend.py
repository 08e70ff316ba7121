"""PostgreSQL side of the search index: full-text search and pgvector HNSW queries.

Keyword search is BM25 from the in-memory postings (index/bm25.py), with
``papers.search_tsv`` (title weight A, authors B, abstract C) matching phrases and
exclusions; vector search orders ``paper_vectors.embedding`` by inner product through the
HNSW index, with iterative index scans so that filters do not starve the result.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, bindparam, func, literal_column, select, text

from paperfeed.index import bm25
from paperfeed.index.postgres_vector import Vector
from paperfeed.index.schema import DIM, paper_vectors
from paperfeed.index.text import keyword_terms, match_groups, match_stages
from paperfeed.store.database import database_key
from paperfeed.store.schema import papers

NAME = "postgresql"
# ts_rank weights for {D, C, B, A} = {unused, abstract, authors, title}.
RANK_WEIGHTS = (0.0, 0.4, 0.4, 1.0)
# hnsw.ef_search: 200 up to 100,000 vectors, then growing with the square root of the
# count (ef_search_for). Measured recall@10 against exact search (bench/ann_recall.py):
# 57,852 vectors: 0.948 at 100, 0.975 at 200; 1M: 0.833 at 100, 0.937 at 400, 0.962 at 600.
HNSW_EF_SEARCH = 200
HNSW_EF_SEARCH_OVERRIDE: int | None = None  # a fixed value, for benchmarks that sweep it
_COUNT_TTL = 60.0  # seconds an estimate of the number of vectors is reused
_COUNTS: dict[str, tuple[float, int]] = {}
_tsv: ColumnElement[Any] = literal_column("papers.search_tsv")


def tsquery_expression(terms: list[str], phrases: list[list[str]],
                       excluded: list[list[str]], *, at_least: int = 1) -> str | None:
    """A to_tsquery expression of quoted words only, or None if nothing to match.

    Same shape as the FTS5 one: phrases required, ``at_least`` of the words (1, 2 or
    all), exclusions negated.
    """
    def quoted(words: list[str]) -> str:
        inner = " <-> ".join("'" + w.replace("'", "").replace("\\", "") + "'" for w in words)
        return f"({inner})"

    required = [quoted(p) for p in phrases if p]
    optional = [quoted([t]) for t in keyword_terms(terms)] + required
    if not optional:
        return None
    expr = "(" + " | ".join(match_groups(optional, at_least, " & ")) + ")"
    if required:
        expr = " & ".join(required) + " & " + expr
    if excluded:
        expr += " & !(" + " | ".join(quoted(e) for e in excluded if e) + ")"
    return expr


def keyword_candidates(conn: Connection, terms: list[str], phrases: list[list[str]],
                       excluded: list[list[str]], conditions: list[ColumnElement[bool]],
                       limit: int, weights: tuple[float, ...] = RANK_WEIGHTS, *,
                       narrowing: bool = True) -> list[tuple[int, float]]:
    """(paper id, BM25 score, higher is better) of the best keyword matches.

    As on SQLite: BM25 from the in-memory postings (index/bm25.py; ``ts_rank`` is not
    BM25 and costs a detoasted tsvector per match), "phrases" and -excluded words matched
    by ``search_tsv``; a query of stopwords only is ranked by ``ts_rank`` (all the words
    first, any word only when too few papers have all).
    """
    if limit <= 0:
        return []
    if weights == RANK_WEIGHTS:
        scored = bm25.keyword_candidates(conn, terms, phrases, excluded, conditions, limit,
                                         narrowing=narrowing, fulltext_ids=fulltext_ids,
                                         text_changes=text_changes)
        if scored is not None:
            return scored
    found: list[tuple[int, float]] = []
    for at_least in match_stages(terms):
        expr = tsquery_expression(terms, phrases, excluded, at_least=at_least)
        found = _rank_query(conn, expr, conditions, limit, weights)
        if len(found) >= limit:
            break
    return found


def fulltext_ids(conn: Connection, phrases: list[list[str]], *, every: bool,
                 among: list[int] | None = None) -> np.ndarray:
    """Ids of the papers (of ``among``, if given) whose ``search_tsv`` has every (or any)
    of ``phrases``."""
    parts = [tsquery_expression([], [p], []) for p in phrases if p]
    expr = (" & " if every else " | ").join(f"({p})" for p in parts if p)
    if not expr:
        return np.zeros(0, dtype=np.int64)
    tsq = func.to_tsquery(literal_column("'english'::regconfig"), bindparam("tsq_expr", expr))
    stmt = select(papers.c.id).where(_tsv.op("@@")(tsq))
    if among is not None:
        stmt = stmt.where(papers.c.id.in_(among))
    return np.fromiter(conn.execute(stmt).scalars(), dtype=np.int64)


def _rank_query(conn: Connection, expr: str | None, conditions: list[ColumnElement[bool]],
                limit: int, weights: tuple[float, ...]) -> list[tuple[int, float]]:
    if expr is None:
        return []
    tsq = func.to_tsquery(literal_column("'english'::regconfig"), bindparam("tsq_expr", expr))
    array = "ARRAY[" + ",".join(f"{w:.4f}" for w in weights) + "]::real[]"
    rank = func.ts_rank(literal_column(array), _tsv, tsq)
    stmt = (
        select(papers.c.id, rank.label("score"))
        .where(_tsv.op("@@")(tsq), *conditions)
        .order_by(rank.desc())
        .limit(limit)
    )
    return [(int(pid), float(score)) for pid, score in conn.execute(stmt)]


def matching_ids(conn: Connection, any_of: list[list[str]], paper_ids: list[int]) -> set[int]:
    """Which of ``paper_ids`` contain any of the words/phrases ``any_of``."""
    if not paper_ids:
        return set()
    return {int(i) for i in fulltext_ids(conn, any_of, every=False, among=paper_ids)}


def text_changes(conn: Connection) -> int:
    """How many statements inserted, deleted or rewrote papers' text (the BM25 postings'
    stamp): rows of the log that migration 0005_terms's statement trigger appends to. A
    shared counter row would serialise (and could deadlock) concurrent writers."""
    return int(conn.exec_driver_sql("SELECT count(*) FROM papers_text_changes").scalar() or 0)


def encode_embedding(vector: np.ndarray) -> np.ndarray:
    """How a vector is bound: the Vector column type turns it into pgvector's text form."""
    return np.asarray(vector, dtype=np.float32)


def ef_search_for(vectors: int) -> int:
    """hnsw.ef_search for an index of ``vectors`` vectors (see HNSW_EF_SEARCH)."""
    return max(HNSW_EF_SEARCH, round(HNSW_EF_SEARCH * math.sqrt(max(vectors, 0) / 100_000)))


def _estimated_vectors(conn: Connection) -> int:
    """The planner's row estimate of paper_vectors (a catalog read, no scan), reused for a
    minute; -1 (never analysed) counts as small."""
    key = database_key(conn.engine)  # no password in keys or saved files
    now = time.monotonic()
    cached = _COUNTS.get(key)
    if cached is not None and now - cached[0] < _COUNT_TTL:
        return cached[1]
    estimate = conn.execute(text(
        "SELECT reltuples FROM pg_class WHERE oid = to_regclass('paper_vectors')")).scalar()
    count = max(int(estimate or 0), 0)
    _COUNTS[key] = (now, count)
    return count


def prepare_vector_query(conn: Connection, limit: int) -> None:
    """Per-transaction HNSW settings: search wide enough for ``limit`` results and for the
    index's size, and keep scanning the index while filters reject rows (pgvector >= 0.8;
    ignored before)."""
    base = HNSW_EF_SEARCH_OVERRIDE or ef_search_for(_estimated_vectors(conn))
    ef = max(base, limit)
    conn.execute(text("SELECT set_config('hnsw.ef_search', :ef, true), "
                      "set_config('hnsw.iterative_scan', 'strict_order', true)"),
                 {"ef": str(ef)})


def vector_candidates(conn: Connection, query: np.ndarray, model_id: str,
                      conditions: list[ColumnElement[bool]], limit: int, *,
                      narrowing: bool) -> list[tuple[int, float]]:
    """(paper id, cosine similarity) of the ``limit`` nearest papers passing ``conditions``
    (approximate: HNSW)."""
    if limit <= 0 or query.shape[0] != DIM:
        return []
    prepare_vector_query(conn, limit)
    qv = bindparam("query_vector", np.asarray(query, dtype=np.float32), type_=Vector(DIM))
    distance = paper_vectors.c.embedding.op("<#>")(qv)  # negative inner product
    stmt = (
        select(paper_vectors.c.paper_id, distance.label("distance"))
        .join(papers, papers.c.id == paper_vectors.c.paper_id)
        .where(paper_vectors.c.model_id == model_id, *conditions)
        .order_by(distance)
        .limit(limit)
    )
    return [(int(pid), -float(d)) for pid, d in conn.execute(stmt)]


def forget_matrices() -> None:
    """Nothing is cached in the process on PostgreSQL."""


def describe() -> dict[str, Any]:
    return {}
