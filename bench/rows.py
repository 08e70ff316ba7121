"""The headline table's row (``python -m bench``) and the read measurements its SQLite and
PostgreSQL rows share: the same queries and papers, timed the same way on either database.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select

from bench.search_latency import sample_queries
from paperfeed.index.embedder import Embedder
from paperfeed.rank.query import ParsedQuery, parse_query
from paperfeed.rank.search import _QUERY_CACHE, embed_query, search_papers
from paperfeed.rank.similar import similar_papers
from paperfeed.store.schema import papers

WARM_UP = 20  # queries and papers run before the measured ones (model, postings, matrix)
Timings = dict[str, list[float]]  # measure name -> seconds per run


@dataclass
class Row:
    measure: str
    value: str
    reference: str
    reference_value: str
    ratio: str
    target: str


@dataclass
class ReadSample:
    """What the read rows run: queries (bench/search_latency.py, seed 7) and papers whose
    similar papers are asked for (arXiv ids), the first WARM_UP of each a warm-up."""

    count: int  # papers in the database
    queries: list[str]
    similar: list[str]


def ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples) * 1000, q))


def p50_p95(samples: list[float]) -> str:
    return f"{ms(samples, 50):.1f} / {ms(samples, 95):.1f} ms"


def timed(timings: Timings, name: str, run: Callable[[], Any]) -> None:
    start = time.perf_counter()
    run()
    timings.setdefault(name, []).append(time.perf_counter() - start)


@contextmanager
def gc_pauses(timings: Timings, name: str) -> Iterator[None]:
    """Record the length of every garbage collection inside the block under ``name``."""
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            timings.setdefault(name, []).append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)


def read_sample(conn: Connection, n_queries: int) -> ReadSample:
    """The queries and papers of the read rows, drawn from the database of ``conn``."""
    count = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    queries = sample_queries(conn, n_queries + WARM_UP, seed=7)
    rng = np.random.default_rng(11)
    ids = conn.execute(select(papers.c.arxiv_id).where(papers.c.id.in_(
        [int(i) for i in rng.choice(count, n_queries + WARM_UP, replace=False) + 1]
    )).order_by(papers.c.id)).scalars().all()
    return ReadSample(count, queries, list(ids))


def time_reads(conn: Connection, embedder: Embedder, sample: ReadSample, timings: Timings,
               arms: Callable[[ParsedQuery, np.ndarray], None]) -> None:
    """Warm up, then time search in each mode (every query pays for its embedding),
    ``arms(parsed query, query vector)`` per query (which times the database's own arms
    and references), and similar papers from the stored lists and computed online."""
    for q in sample.queries[:WARM_UP]:
        search_papers(conn, q, embedder=embedder)
    measured = sample.queries[WARM_UP:]
    modes = ("hybrid", "semantic", "keyword")
    with gc_pauses(timings, "gc pause"):
        # The modes take turns query by query (in a rotating order), so that whatever else
        # the machine does meanwhile falls on all three alike.
        for i, q in enumerate(measured):
            for mode in modes[i % 3:] + modes[:i % 3]:
                _QUERY_CACHE.clear()  # every query pays for its embedding
                timed(timings, mode,
                      partial(search_papers, conn, q, embedder=embedder, mode=mode))
    for q in measured:
        parsed = parse_query(q)
        arms(parsed, embed_query(embedder, parsed.text))
    for aid in sample.similar[:WARM_UP]:
        similar_papers(conn, aid)
    for aid in sample.similar[WARM_UP:]:  # served from the stored lists, then computed online
        timed(timings, "similar", partial(similar_papers, conn, aid, limit=10))
        timed(timings, "similar online", partial(similar_papers, conn, aid, limit=10,
                                                 stored=False))
