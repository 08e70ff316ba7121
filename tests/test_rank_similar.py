"""Similar papers: nearest by meaning, never the paper itself or hidden ones."""

from __future__ import annotations

from sqlalchemy import update

from paperfeed.rank.similar import similar_papers
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers

from .search_corpus import HIDDEN, TOPICS, load_search_corpus


def test_neighbours_by_meaning_without_self_or_hidden(engine):
    load_search_corpus(engine)
    with engine.connect() as conn:
        hits = similar_papers(conn, "2501.00001", limit=5)
    found = [h.arxiv_id for h in hits]
    assert found[0] == "2501.00010"  # the other image-caption retrieval paper
    assert "2501.00001" not in found and HIDDEN not in found
    assert len(found) == 5 and len(set(found)) == 5
    assert all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].reasons[0].startswith("similar in meaning")
    assert "shares authors: Ada Lovelace" in hits[0].reasons


def test_any_version_or_url_of_the_id_works(engine):
    load_search_corpus(engine)
    with engine.connect() as conn:
        plain = [h.arxiv_id for h in similar_papers(conn, "2501.00003")]
        for variant in ("2501.00003v2", "https://arxiv.org/abs/2501.00003v1", "arXiv:2501.00003"):
            assert [h.arxiv_id for h in similar_papers(conn, variant)] == plain
        assert similar_papers(conn, "2599.99999") == []
        assert similar_papers(conn, "") == []
        assert similar_papers(conn, "'; DROP TABLE papers; --") == []


def test_duplicates_with_the_same_title_are_skipped(engine):
    load_search_corpus(engine)
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == "2501.00010")
                     .values(title="REDUCING hubness in cross-modal retrieval of images and "
                                   "captions"))
    with engine.connect() as conn:
        found = [h.arxiv_id for h in similar_papers(conn, "2501.00001", limit=20)]
    assert "2501.00010" not in found
    assert len(found) == len(TOPICS) - 3  # minus itself, the hidden one, the duplicate


def test_paper_without_vector_falls_back_to_title_words(engine):
    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        hits = similar_papers(conn, "2501.00003", limit=3)
    assert hits and hits[0].arxiv_id == "2501.00006"  # "large language model(s)"
    assert "not indexed" in hits[0].reasons[0]
