"""Copy stored vectors (and with ``--summaries`` the TL;DR + keyword rows) between two
databases holding the same papers (matched by arXiv id), so a benchmark database need not
be embedded twice.

    python bench/copy_vectors.py sqlite:////tmp/pf-57k.db postgresql://.../corpus57k

Rows keep their text hash, so ``paperfeed index`` on the target finds them current and
computes only what is missing. Stored similar-papers lists are keyed by (model, text hash),
not by the vector itself: a copy that replaces vectors (stand-ins by real ones) would leave
lists computed from the old vectors looking current, so every stored list of the target is
deleted and ``paperfeed index`` computes them again. On PostgreSQL the HNSW index is
dropped first and built once after the copy (one build instead of an insert into the graph
per row), then the table is vacuumed.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from sqlalchemy import Engine, select, text

from paperfeed.index.postgres_vector import VECTOR_INDEX_DDL
from paperfeed.index.schema import paper_summaries, paper_vectors
from paperfeed.index.summaries import store_summaries
from paperfeed.index.vectors import decode_embedding, store_vectors
from paperfeed.store.database import open_engine, write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.similar_schema import similar_lists

SUMMARY_COLUMNS = ("method", "text_hash", "tldr", "tldr_source", "keywords",
                   "keywords_source", "computed_at")


def copy_vectors(source: Engine, target: Engine, ids: dict[str, int], batch: int) -> int:
    with source.connect() as conn:
        rows = conn.execute(
            select(papers.c.arxiv_id, paper_vectors.c.model_id, paper_vectors.c.text_hash,
                   paper_vectors.c.embedding)
            .join(papers, papers.c.id == paper_vectors.c.paper_id)
        ).all()
    copied = 0
    for offset in range(0, len(rows), batch):
        chunk = [r for r in rows[offset:offset + batch] if r.arxiv_id in ids]
        by_model: dict[str, list[Any]] = {}
        for r in chunk:
            by_model.setdefault(r.model_id, []).append(r)
        with write_transaction(target) as conn:
            for model_id, items in by_model.items():
                vectors = np.stack([decode_embedding(r.embedding) for r in items])
                store_vectors(conn, [(ids[r.arxiv_id], r.text_hash) for r in items],
                              vectors, model_id)
        copied += len(chunk)
    return copied


def copy_summaries(source: Engine, target: Engine, ids: dict[str, int], batch: int) -> int:
    with source.connect() as conn:
        rows = conn.execute(
            select(papers.c.arxiv_id, *[paper_summaries.c[c] for c in SUMMARY_COLUMNS])
            .join(papers, papers.c.id == paper_summaries.c.paper_id)
        ).all()
    found = [r for r in rows if r.arxiv_id in ids]
    for offset in range(0, len(found), batch):
        with write_transaction(target) as conn:
            store_summaries(conn, [{"paper_id": ids[r.arxiv_id],
                                    **{c: getattr(r, c) for c in SUMMARY_COLUMNS}}
                                   for r in found[offset:offset + batch]])
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--summaries", action="store_true",
                        help="Also copy the TL;DR + keyword rows (paper_summaries).")
    parser.add_argument("--summaries-only", action="store_true",
                        help="Copy only the TL;DR + keyword rows.")
    args = parser.parse_args()
    source, target = open_engine(args.source), open_engine(args.target)
    postgres = target.dialect.name == "postgresql"
    with target.connect() as conn:
        ids: dict[str, int] = {a: i for a, i in conn.execute(
            select(papers.c.arxiv_id, papers.c.id))}
    start = time.perf_counter()
    if args.summaries_only:
        print(f"copied {copy_summaries(source, target, ids, args.batch):,} summaries in "
              f"{time.perf_counter() - start:.1f} s")
        return
    if postgres:
        with write_transaction(target) as conn:
            conn.execute(text("DROP INDEX IF EXISTS ix_paper_vectors_embedding_hnsw"))
    copied = copy_vectors(source, target, ids, args.batch)
    with write_transaction(target) as conn:
        dropped = conn.execute(similar_lists.delete()).rowcount
    print(f"copied {copied:,} vectors in {time.perf_counter() - start:.1f} s; "
          f"{dropped:,} stored similar lists deleted", flush=True)
    if postgres:
        built = time.perf_counter()
        with target.connect() as conn:
            conn.execute(text("SET maintenance_work_mem = '512MB'"))
            for ddl in VECTOR_INDEX_DDL:
                conn.execute(text(ddl))
            conn.commit()
        with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE paper_vectors"))
        print(f"HNSW index built and table vacuumed in {time.perf_counter() - built:.1f} s",
              flush=True)
    if args.summaries:
        began = time.perf_counter()
        done = copy_summaries(source, target, ids, args.batch)
        print(f"copied {done:,} summaries in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
