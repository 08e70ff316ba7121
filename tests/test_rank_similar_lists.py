"""Stored similar-papers lists (rank/similar_lists.py): what `paperfeed index` precomputes
equals the online ranking, grows with new papers, survives a crash, never shows hidden ones."""

from __future__ import annotations

import datetime as dt
import os
import random

import pytest
from sqlalchemy import Engine, delete, select, update

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.index.vectors import index_missing
from paperfeed.rank import similar, similar_lists
from paperfeed.rank.similar import STORED_LIMIT, STORED_SIZE, similar_papers, unpack_neighbours
from paperfeed.rank.similar_lists import index_similar
from paperfeed.store.collections import add_to_collection, create_collection
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers
from paperfeed.store.similar_schema import similar_lists as lists_table
from paperfeed.store.users import create_user
from paperfeed.store.votes import set_vote

from .factories import make_paper, record_callers

MODEL = HashingEmbedder().model_id
VOCABULARY = ("retrieval images captions hubness diffusion language models reasoning speech audio "
         "graph molecules robots navigation maps alignment reward contrastive negatives "
         "transformer attention sparse dense kernel bayesian inference agents planning "
         "benchmark survey compression quantisation pruning federated privacy fairness "
         "causal tabular forecasting video tracking segmentation depth stereo lidar")
WORDS = VOCABULARY.split()
CATEGORIES = ["cs.CV", "cs.CL", "cs.LG", "cs.IR", "cs.RO"]
AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Marie Curie", "Emmy Noether"]


def _paper(rng: random.Random, number: int, *, day: dt.date = dt.date(2025, 5, 1)):
    title = " ".join(rng.choice(WORDS) for _ in range(6))
    abstract = " ".join(rng.choice(WORDS) for _ in range(40))
    return make_paper(f"2502.{number:05d}", title, abstract, rng.sample(CATEGORIES, 2), day,
                      rng.sample(AUTHORS, 2))


def load_corpus(engine: Engine, n: int = 160, *, seed: int = 3) -> list[str]:
    """``n`` papers drawn from a small vocabulary (so the lists are full and truncated:
    n > STORED_SIZE), one hidden, embedded with the hashing embedder; readers who upvoted
    and saved some of them (co-votes). Returns the arXiv ids."""
    rng = random.Random(seed)
    records = [_paper(rng, i) for i in range(1, n + 1)]
    with write_transaction(engine) as conn:
        upsert_papers(conn, records)
        conn.execute(update(papers).where(papers.c.arxiv_id == "2502.00007").values(hidden=True))
        ids = dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())
        for reader in range(3):
            user = create_user(conn, username=f"reader{reader}", email=f"r{reader}@example.org",
                               password="correct horse battery staple")
            for pick in rng.sample(sorted(ids), 12):
                set_vote(conn, user.id, ids[pick], True)
            box = create_collection(conn, user.id, "reading")
            for pick in rng.sample(sorted(ids), 6):
                add_to_collection(conn, box, user.id, ids[pick])
    index_missing(engine, HashingEmbedder())
    return [r.arxiv_id for r in records]


def ranking(engine: Engine, arxiv_id: str, limit: int, *, stored: bool = True):
    with engine.connect() as conn:
        return [(h.arxiv_id, h.score, h.reasons)
                for h in similar_papers(conn, arxiv_id, limit=limit, stored=stored)]


def same(a: list, b: list) -> bool:
    return [x[0] for x in a] == [x[0] for x in b] and [x[2] for x in a] == [x[2] for x in b] \
        and all(abs(x[1] - y[1]) <= 2e-6 for x, y in zip(a, b, strict=True))


def snapshot(engine: Engine) -> dict[str, tuple]:
    """Every stored list by arXiv id, neighbours as arXiv ids (ids may differ per database)."""
    with engine.connect() as conn:
        arxiv = dict(conn.execute(select(papers.c.id, papers.c.arxiv_id)).all())
        rows = conn.execute(select(lists_table)).all()
    out = {}
    for r in rows:
        entries = unpack_neighbours(r.neighbours)
        out[arxiv[r.paper_id]] = (
            r.method, r.model_id, r.text_hash, bool(r.stale),
            tuple(arxiv[int(i)] for i in entries["id"]),
            entries["cos"].tobytes(), entries["kw"].tobytes())
    return out


def test_stored_lists_equal_the_online_ranking(engine, monkeypatch):
    ids = load_corpus(engine)
    sample = ids[:40:3] + ["2502.00007"]
    online = {(aid, limit): ranking(engine, aid, limit, stored=False)
              for aid in sample for limit in (1, 5, 10, STORED_LIMIT)}
    run = index_similar(engine, MODEL, batch_size=32)
    assert (run.computed, run.refreshed, run.up_to_date) == (len(ids), 0, 0)
    with engine.connect() as conn:
        sizes = {len(unpack_neighbours(raw)) for raw in
                 conn.execute(select(lists_table.c.neighbours)).scalars()}
    assert sizes == {STORED_SIZE}  # truncated lists: the prefix logic is exercised

    def no_online(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored list should have answered")

    monkeypatch.setattr(similar, "_online_evidence", no_online)
    for (aid, limit), expected in online.items():
        assert expected, aid
        assert same(ranking(engine, aid, limit), expected), (aid, limit)
    # A longer list than stored, or other params, is computed online (and still works).
    monkeypatch.undo()
    assert len(ranking(engine, ids[0], STORED_LIMIT + 1)) == STORED_LIMIT + 1
    assert index_similar(engine, MODEL).up_to_date == len(ids)  # nothing left to do


def test_a_new_paper_enters_an_old_papers_stored_list(engine):
    ids = load_corpus(engine)
    index_similar(engine, MODEL)
    with engine.connect() as conn:
        old = conn.execute(select(papers.c.title, papers.c.abstract)
                           .where(papers.c.arxiv_id == ids[10])).one()
    # A near copy of an old paper (another title: same-title duplicates are dropped).
    twin = make_paper("2603.00001", "A second look: " + old.title, old.abstract, ["cs.CV"],
                      dt.date(2026, 3, 1), ["Someone New"])
    with write_transaction(engine) as conn:
        upsert_papers(conn, [twin])
        twin_id = conn.execute(select(papers.c.id)
                               .where(papers.c.arxiv_id == "2603.00001")).scalar_one()
    index_missing(engine, HashingEmbedder())
    run = index_similar(engine, MODEL)
    assert run.computed == 1 and run.refreshed >= 1
    with engine.connect() as conn:
        raw = conn.execute(select(lists_table.c.neighbours, lists_table.c.stale)
                           .join(papers, papers.c.id == lists_table.c.paper_id)
                           .where(papers.c.arxiv_id == ids[10])).one()
        assert not raw.stale
        assert int(unpack_neighbours(raw.neighbours)["id"][0]) == twin_id
        assert not conn.execute(select(lists_table.c.paper_id).where(lists_table.c.stale)).all()
    assert ranking(engine, ids[10], 10)[0][0] == "2603.00001"
    assert same(ranking(engine, ids[10], 10), ranking(engine, ids[10], 10, stored=False))


def test_papers_far_from_a_new_one_keep_their_lists(engine):
    ids = load_corpus(engine)
    index_similar(engine, MODEL)
    before = snapshot(engine)
    # Words no other paper has: the new paper ranks inside no full list.
    lonely = make_paper("2603.00002", "zyxqua wobblefrump", "quorbly zintrax fnordic vexil",
                        ["cs.CV"], dt.date(2026, 3, 2), ["Nobody"])
    with write_transaction(engine) as conn:
        upsert_papers(conn, [lonely])
    index_missing(engine, HashingEmbedder())
    run = index_similar(engine, MODEL)
    assert run.computed == 1
    after = snapshot(engine)
    changed = [aid for aid in ids if after[aid] != before[aid]]
    assert len(changed) <= run.refreshed < len(ids) // 4


def test_a_crash_mid_precompute_reruns_to_the_same_end_state(engine, other_engine, monkeypatch):
    for eng in (engine, other_engine):
        load_corpus(eng)
        index_similar(eng, MODEL)
        new = [_paper(random.Random(9), 900 + i, day=dt.date(2026, 4, 1)) for i in range(12)]
        with write_transaction(eng) as conn:
            upsert_papers(conn, new)
        index_missing(eng, HashingEmbedder())
    calls = 0
    write = similar_lists._write_lists

    def crash_on_third(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("killed mid-run")
        write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(similar_lists, "_write_lists", crash_on_third)
    with pytest.raises(RuntimeError):
        index_similar(engine, MODEL, batch_size=4)
    monkeypatch.undo()
    resumed = index_similar(engine, MODEL, batch_size=4)
    assert resumed.computed == 12 - 8  # two batches of 4 new papers had committed
    index_similar(other_engine, MODEL, batch_size=4)
    end = snapshot(engine)
    assert end == snapshot(other_engine)
    assert not any(stale for _, _, _, stale, *_ in end.values())


def test_hidden_papers_never_appear(engine):
    ids = load_corpus(engine)
    index_similar(engine, MODEL)
    assert all("2502.00007" not in [h[0] for h in ranking(engine, aid, STORED_LIMIT)]
               for aid in ids[:60])
    shown = ranking(engine, ids[0], 10)
    hidden_now = shown[0][0]
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == hidden_now).values(hidden=True))
    after = ranking(engine, ids[0], 10)
    assert hidden_now not in [h[0] for h in after] and len(after) == 10


def test_the_products_size_does_not_change_the_lists(engine, monkeypatch):
    ids = load_corpus(engine)
    index_similar(engine, MODEL)
    whole = snapshot(engine)
    with write_transaction(engine) as conn:
        conn.execute(delete(lists_table))
    monkeypatch.setattr(similar_lists, "_SCORES_BUDGET", 3 * len(ids))  # 3 papers at a time
    assert index_similar(engine, MODEL).computed == len(ids)
    assert snapshot(engine) == whole


def test_forked_workers_store_the_lists_one_process_stores(engine, monkeypatch, tmp_path):
    ids = load_corpus(engine)
    index_similar(engine, MODEL, batch_size=16, workers=1)
    alone = snapshot(engine)
    with write_transaction(engine) as conn:
        conn.execute(delete(lists_table))
    callers = record_callers(monkeypatch, similar_lists, "lists_for", tmp_path / "pids")
    run = index_similar(engine, MODEL, batch_size=16, workers=2)
    assert run.computed == len(ids)
    assert callers() and os.getpid() not in callers()  # the lists came from the workers
    assert snapshot(engine) == alone
