"""Recall@10 of the approximate vector search (pgvector HNSW, or the SQLite IVF index)
against exact search over the same vectors, and the latency of both.

    flock /tmp/paperfeed-bench.lock python bench/ann_recall.py --db sqlite:////tmp/pf-1m.db

Queries are embedded with the real model from the first words of random titles plus
hand-written descriptions (bench/search_latency.py); exact search is a numpy scan of all
vectors read from the database. Prints one Markdown table row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from search_latency import sample_queries  # type: ignore[import-not-found]
from sqlalchemy import func, select

from paperfeed.config import load_settings
from paperfeed.index import postgres_backend, sqlite_backend
from paperfeed.index.backend import backend_for
from paperfeed.index.embedder import load_embedder
from paperfeed.index.schema import paper_vectors
from paperfeed.index.vectors import decode_embedding
from paperfeed.rank.filters import SearchFilters, paper_conditions
from paperfeed.store.database import open_engine
from paperfeed.store.schema import papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cache-dir", default="/tmp/pf-cache")
    parser.add_argument("--label", default="")
    parser.add_argument("--nprobe", type=int, nargs="*", default=[],
                        help="IVF clusters probed (SQLite >= 200k vectors); several = sweep")
    parser.add_argument("--ef-search", type=int, nargs="*", default=[],
                        help="hnsw.ef_search (PostgreSQL); several = sweep")
    args = parser.parse_args()
    embedder = load_embedder(load_settings(embedding_backend="onnx-int8",
                                           cache_dir=args.cache_dir))
    engine = open_engine(args.db)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(paper_vectors)).scalar_one()
        queries = sample_queries(conn, args.queries, seed=5)
        vectors = embedder.embed(queries)
        ids_list, blobs = [], []
        for pid, emb in conn.execute(select(paper_vectors.c.paper_id, paper_vectors.c.embedding)
                                     .where(paper_vectors.c.model_id == embedder.model_id)):
            ids_list.append(pid)
            blobs.append(decode_embedding(emb))
        ids = np.array(ids_list)
        matrix = np.vstack(blobs)
        del blobs
        hidden = set(conn.execute(select(papers.c.id).where(papers.c.hidden)).scalars())
        backend = backend_for(conn)
        conditions = paper_conditions(SearchFilters())
        backend.vector_candidates(conn, vectors[0], embedder.model_id, conditions, 10,
                                  narrowing=False)  # warm (loads / builds the index)
        exact_lists, exact_times = [], []
        for q in vectors:
            start = time.perf_counter()
            scores = matrix @ q
            top = np.argpartition(-scores, 40)[:40]
            exact_lists.append([int(ids[i]) for i in top[np.argsort(-scores[top])]
                                if ids[i] not in hidden][:10])
            exact_times.append(time.perf_counter() - start)
        e = np.array(exact_times) * 1000
        print("| index | vectors | queries | recall@10 | ANN p50 / p95 ms | "
              "exact scan p50 / p95 ms |")
        is_sqlite = engine.dialect.name == "sqlite"
        settings_swept = (args.nprobe or [sqlite_backend.IVF_NPROBE]) if is_sqlite else \
            (args.ef_search or [0])
        for value in settings_swept:
            if is_sqlite:
                sqlite_backend.IVF_NPROBE = value
            else:
                postgres_backend.HNSW_EF_SEARCH_OVERRIDE = value or None
            recalls, ann_times = [], []
            for q, exact in zip(vectors, exact_lists, strict=True):
                start = time.perf_counter()
                approx = backend.vector_candidates(conn, q, embedder.model_id, conditions, 10,
                                                   narrowing=False)
                ann_times.append(time.perf_counter() - start)
                recalls.append(len(set(exact) & {pid for pid, _ in approx}) / 10)
            a = np.array(ann_times) * 1000
            label = args.label or engine.dialect.name
            if is_sqlite and count >= sqlite_backend.IVF_MIN_ROWS:
                label += f" (nprobe {value})"
            elif not is_sqlite:
                label += f" (ef_search {value or 'default'})"
            print(f"| {label} | {count:,} | {len(recalls)} | {np.mean(recalls):.3f} | "
                  f"{np.percentile(a, 50):.1f} / {np.percentile(a, 95):.1f} | "
                  f"{np.percentile(e, 50):.1f} / {np.percentile(e, 95):.1f} |")


if __name__ == "__main__":
    main()
