"""Vector upkeep: embeds what is missing or stale, records the model, resumes, reads back."""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, select, update

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.index.schema import paper_vectors
from paperfeed.index.vectors import get_vectors, index_missing, vector_counts
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers

from .search_corpus import TOPICS, load_search_corpus


def paper_id(conn, arxiv_id: str) -> int:
    return conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar_one()


def test_index_embeds_everything_once(engine):
    embedder = load_search_corpus(engine, embed=False)
    first = index_missing(engine, embedder, batch_size=3)
    second = index_missing(engine, embedder)
    assert (first.embedded, first.up_to_date) == (len(TOPICS), 0)
    assert (second.embedded, second.up_to_date) == (0, len(TOPICS))
    with engine.connect() as conn:
        assert vector_counts(conn) == {embedder.model_id: len(TOPICS)}
        rows = conn.execute(select(paper_vectors.c.model_id, paper_vectors.c.text_hash)).all()
    assert all(model == "hashing-384" and len(digest) == 32 for model, digest in rows)


def test_vectors_round_trip_exactly(engine):
    embedder = load_search_corpus(engine)
    with engine.connect() as conn:
        pid = paper_id(conn, "2501.00001")
        vectors = get_vectors(conn, [pid, pid, 999_999])
        title, abstract = conn.execute(
            select(papers.c.title, papers.c.abstract).where(papers.c.id == pid)).one()
    assert list(vectors) == [pid]
    expected = embedder.embed([f"{title}. {abstract}"])[0]
    assert vectors[pid].dtype == np.float32 and vectors[pid].shape == (384,)
    np.testing.assert_allclose(vectors[pid], expected, atol=1e-6)


def test_changed_text_and_changed_model_are_re_embedded(engine):
    embedder = load_search_corpus(engine)
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == "2501.00002")
                     .values(abstract="A new abstract about protein folding."))
    again = index_missing(engine, embedder)
    assert (again.embedded, again.up_to_date) == (1, len(TOPICS) - 1)
    other = HashingEmbedder(dim=384)
    other.model_id = "another-model"
    switched = index_missing(engine, other)
    assert switched.embedded == len(TOPICS)
    with engine.connect() as conn:
        assert vector_counts(conn) == {"another-model": len(TOPICS)}


def test_interrupted_run_resumes(engine):
    embedder = load_search_corpus(engine, embed=False)
    partial = index_missing(engine, embedder, batch_size=4, limit=4)
    rest = index_missing(engine, embedder, batch_size=4)
    assert partial.embedded == 4 and rest.embedded == len(TOPICS) - 4
    assert rest.up_to_date == 4


def test_deleting_a_paper_deletes_its_vector(engine):
    load_search_corpus(engine)
    with write_transaction(engine) as conn:
        conn.execute(delete(papers).where(papers.c.arxiv_id == "2501.00004"))
    with engine.connect() as conn:
        assert sum(vector_counts(conn).values()) == len(TOPICS) - 1


def test_search_sees_new_vectors_immediately(engine):
    """The SQLite in-memory matrix reloads when the vectors change (generation counter)."""
    from paperfeed.rank.search import search_papers

    embedder = load_search_corpus(engine)
    with engine.connect() as conn:
        before = search_papers(conn, "protein folding", embedder=embedder, mode="semantic")
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == "2501.00002")
                     .values(title="Protein folding", abstract="Protein folding protein."))
    index_missing(engine, embedder)
    with engine.connect() as conn:
        after = search_papers(conn, "protein folding", embedder=embedder, mode="semantic")
    assert before.hits[0].arxiv_id != "2501.00002"
    assert after.hits[0].arxiv_id == "2501.00002"


def test_hnsw_ef_search_grows_with_the_index(engine, db_kind):
    from sqlalchemy import text

    from paperfeed.index.postgres_backend import ef_search_for, prepare_vector_query

    # 200 up to 100k vectors (recall@10 0.975 at 57,852), ~600 at 1M (0.962; benchmarks.md)
    assert [ef_search_for(n) for n in (0, 57_852, 100_000, 1_000_000)] == [200, 200, 200, 632]
    if db_kind != "postgres":
        return
    with engine.connect() as conn:
        prepare_vector_query(conn, 10)
        assert conn.execute(text("SHOW hnsw.ef_search")).scalar() == "200"
        prepare_vector_query(conn, 500)  # a deeper page needs a wider search
        assert conn.execute(text("SHOW hnsw.ef_search")).scalar() == "500"
