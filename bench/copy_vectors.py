"""Copy stored vectors (and with ``--summaries`` the TL;DR + keyword rows, with
``--similar`` the stored similar-papers lists) between two databases holding the same papers
(matched by arXiv id), so a benchmark database need not be embedded twice.

    python bench/copy_vectors.py sqlite:////tmp/pf-57k.db postgresql://.../corpus57k

Rows keep their text hash, so ``paperfeed index`` on the target finds them current and
computes only what is missing. Stored similar-papers lists are keyed by (model, text hash),
not by the vector itself: a copy that replaces vectors (stand-ins by real ones) would leave
lists computed from the old vectors looking current, so every stored list of the target is
deleted and ``paperfeed index`` computes them again, unless ``--similar`` copies the
source's lists, computed from the very vectors copied (the paper ids inside them mapped to
the target's). On PostgreSQL the HNSW index is dropped first and built once after the copy
(one build instead of an insert into the graph per row), then the table is vacuumed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, select, text

from paperfeed.index.postgres_vector import VECTOR_INDEX_DDL
from paperfeed.index.schema import paper_summaries, paper_vectors
from paperfeed.index.summaries import store_summaries
from paperfeed.index.vectors import decode_embedding, store_vectors
from paperfeed.rank.similar import unpack_neighbours
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


def copy_similar_lists(source: Engine, target: Engine, ids: dict[str, int],
                       batch: int) -> int:
    """Copy the stored similar-papers lists, each paper id inside them mapped to the
    target's id of the same arXiv id (neighbours the target lacks are left out). Valid
    only when the target's vectors are the source's (same model and text hashes, which
    the lists are stamped with): call it after ``copy_vectors``."""
    with source.connect() as conn:
        arxiv_of = dict(conn.execute(select(papers.c.id, papers.c.arxiv_id)).tuples().all())
        rows = conn.execute(select(similar_lists)).all()
    target_of = np.full(max(arxiv_of, default=0) + 1, -1, dtype=np.int64)
    for pid, arxiv_id in arxiv_of.items():
        target_of[pid] = ids.get(arxiv_id, -1)
    found = [r for r in rows if target_of[r.paper_id] >= 0]
    for offset in range(0, len(found), batch):
        chunk = []
        for r in found[offset:offset + batch]:
            entries = unpack_neighbours(r.neighbours).copy()
            entries["id"] = target_of[entries["id"]]
            chunk.append({**r._asdict(), "paper_id": int(target_of[r.paper_id]),
                          "neighbours": entries[entries["id"] >= 0].tobytes()})
        with write_transaction(target) as conn:
            conn.execute(similar_lists.insert(), chunk)
    return len(found)


@dataclass
class Copied:
    """What ``copy_into`` did, with the seconds of each step."""

    vectors: int = 0
    vectors_s: float = 0.0
    lists_deleted: int = 0
    lists: int = 0  # similar-papers lists copied (``similar=True``)
    lists_s: float = 0.0
    index_s: float = 0.0  # HNSW build + VACUUM ANALYZE (PostgreSQL)
    summaries: int = 0
    summaries_s: float = 0.0


def copy_into(source: Engine, target: Engine, *, batch: int = 2000, summaries: bool = False,
              similar: bool = False, progress: Callable[[str], None] = print) -> Copied:
    """Copy the vectors (then, if asked, the stored similar-papers lists and the summaries)
    of ``source`` into ``target``; on PostgreSQL the HNSW index is dropped before the
    vectors and built once after them (module docstring)."""
    postgres = target.dialect.name == "postgresql"
    ids = target_ids(target)
    done = Copied()
    start = time.perf_counter()
    if postgres:
        with write_transaction(target) as conn:
            conn.execute(text("DROP INDEX IF EXISTS ix_paper_vectors_embedding_hnsw"))
    done.vectors = copy_vectors(source, target, ids, batch)
    with write_transaction(target) as conn:
        done.lists_deleted = conn.execute(similar_lists.delete()).rowcount
    done.vectors_s = time.perf_counter() - start
    progress(f"copied {done.vectors:,} vectors in {done.vectors_s:.1f} s; "
             f"{done.lists_deleted:,} stored similar lists deleted")
    if postgres:
        built = time.perf_counter()
        with target.connect() as conn:
            conn.execute(text("SET maintenance_work_mem = '512MB'"))
            for ddl in VECTOR_INDEX_DDL:
                conn.execute(text(ddl))
            conn.commit()
        with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE paper_vectors"))
        done.index_s = time.perf_counter() - built
        progress(f"HNSW index built and table vacuumed in {done.index_s:.1f} s")
    if similar:
        began = time.perf_counter()
        done.lists = copy_similar_lists(source, target, ids, batch)
        done.lists_s = time.perf_counter() - began
        progress(f"copied {done.lists:,} similar-papers lists in {done.lists_s:.1f} s")
    if summaries:
        began = time.perf_counter()
        done.summaries = copy_summaries(source, target, ids, batch)
        done.summaries_s = time.perf_counter() - began
        progress(f"copied {done.summaries:,} summaries in {done.summaries_s:.1f} s")
    return done


def target_ids(target: Engine) -> dict[str, int]:
    with target.connect() as conn:
        return {a: i for a, i in conn.execute(select(papers.c.arxiv_id, papers.c.id))}


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
    parser.add_argument("--similar", action="store_true",
                        help="Also copy the stored similar-papers lists (computed from the "
                             "same vectors), instead of leaving them to `paperfeed index`.")
    args = parser.parse_args()
    source, target = open_engine(args.source), open_engine(args.target)
    if args.summaries_only:
        start = time.perf_counter()
        copied = copy_summaries(source, target, target_ids(target), args.batch)
        print(f"copied {copied:,} summaries in {time.perf_counter() - start:.1f} s")
        return
    copy_into(source, target, batch=args.batch, summaries=args.summaries, similar=args.similar,
              progress=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
