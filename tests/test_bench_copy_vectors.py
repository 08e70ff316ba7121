"""bench/copy_vectors.py, which the PostgreSQL rows of ``python -m bench`` load their
database with: the vectors and stored similar-papers lists of one database copied into
another holding the same papers under other ids are the same lists, current there."""

from __future__ import annotations

import random

from sqlalchemy import Engine, func, select, update

from bench.copy_vectors import copy_into
from paperfeed.index.schema import paper_vectors
from paperfeed.rank.similar_lists import index_similar
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .test_rank_similar_lists import MODEL, _paper, load_corpus, ranking, same, snapshot

PAPERS = 40


def test_copied_lists_hold_the_targets_ids_and_are_current(engine: Engine,
                                                         other_engine: Engine) -> None:
    ids = load_corpus(engine, PAPERS)
    index_similar(engine, MODEL)
    rng = random.Random(3)  # load_corpus's papers again, inserted the other way round
    records = [_paper(rng, i) for i in range(1, PAPERS + 1)]
    with write_transaction(other_engine) as conn:
        upsert_papers(conn, records[::-1])
        conn.execute(update(papers).where(papers.c.arxiv_id == "2502.00007").values(hidden=True))
    copied = copy_into(engine, other_engine, similar=True, progress=lambda _line: None)
    assert (copied.vectors, copied.lists) == (PAPERS, PAPERS)
    with engine.connect() as a, other_engine.connect() as b:
        assert a.execute(select(func.count()).select_from(paper_vectors)).scalar() == PAPERS
        assert b.execute(select(func.count()).select_from(paper_vectors)).scalar() == PAPERS
    assert snapshot(other_engine) == snapshot(engine)  # same neighbours, by arXiv id
    run = index_similar(other_engine, MODEL)  # stamped with the copied vectors: current
    assert (run.computed, run.up_to_date) == (0, PAPERS)
    for aid in ids[::7]:  # what the copied lists serve is what the target computes
        assert same(ranking(other_engine, aid, 10),
                    ranking(other_engine, aid, 10, stored=False)), aid
