"""Throughput of TL;DR + keywords (``index_summaries``) on top of the stored vectors.

    flock /tmp/paperfeed-bench.lock python bench/bench_summaries.py --db sqlite:////tmp/demo.db

Each run copies the SQLite database to a scratch file, deletes its paper_summaries rows and
times ``index_summaries`` over ``--papers`` papers (newest first), with a cold phrase-vector
cache (a fresh process state per run, as `paperfeed index` has). The BM25 postings (used
for the candidates' IDF) are built once before the first run, as a server or a previous
CLI run would have saved them. Prints a Markdown table: one row per run and the median,
with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url

from paperfeed.config import load_settings
from paperfeed.index import terms
from paperfeed.index.embedder import load_embedder
from paperfeed.index.schema import paper_summaries, paper_vectors
from paperfeed.index.summaries import index_summaries
from paperfeed.store.database import open_engine, write_transaction
from paperfeed.store.migrate import upgrade_database
from paperfeed.store.schema import paper_signals


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="sqlite:///... with stored vectors")
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = Path(make_url(args.db).database or "")
    if not source.is_file():
        raise SystemExit(f"{source} is not a SQLite file")
    settings = load_settings()
    embedder = load_embedder(settings)
    embedder.embed(["warm up the model"])
    with tempfile.TemporaryDirectory(prefix="pf-bench-summaries-") as tmp:
        rows = []
        for run in range(1, args.runs + 1):
            copy = Path(tmp) / "bench.db"
            shutil.copyfile(source, copy)
            engine = open_engine(f"sqlite:///{copy}")
            upgrade_database(engine)
            with write_transaction(engine) as conn:
                conn.execute(delete(paper_summaries))
            with engine.connect() as conn:
                vectors = conn.execute(select(func.count()).select_from(paper_vectors)).scalar()
                upstream = conn.execute(select(func.count(func.distinct(paper_signals.c.paper_id)))
                                        .where(paper_signals.c.kind.in_(["ai_summary",
                                                                         "ai_keywords"]))).scalar()
                terms.term_index(conn)  # the postings exist before a real index run
            before = load()
            start = time.perf_counter()
            result = index_summaries(engine, embedder, limit=args.papers)
            seconds = time.perf_counter() - start
            rows.append((run, result.computed, seconds, result.computed / seconds,
                         result.phrases_embedded, before, load()))
            engine.dispose()
            terms.forget()
    print(f"{vectors:,} papers with vectors, {upstream:,} with upstream summaries/keywords; "
          f"embedder {settings.embedding_backend} ({embedder.model_id})")
    print()
    print("| run | papers | seconds | papers/s | phrases embedded | load before | load after |")
    print("|---:|---:|---:|---:|---:|---|---|")
    for run, papers, seconds, rate, phrases, before, after in rows:
        print(f"| {run} | {papers:,} | {seconds:.2f} | {rate:.0f} | {phrases:,} | {before} | "
              f"{after} |")
    median = statistics.median(r[3] for r in rows)
    print(f"| **median** | | | **{median:.0f}** | | | |")


if __name__ == "__main__":
    main()
