"""The in-memory BM25 postings (index/tokens.py, postings.py, terms.py, bm25.py): the same
scores as FTS5's bm25(), the same tokens, and never stale after papers are added, changed
or deleted (both databases)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from paperfeed.index import terms
from paperfeed.index.backend import backend_for
from paperfeed.index.postings import build_segment
from paperfeed.index.terms import term_index
from paperfeed.index.tokens import query_stems
from paperfeed.models import Author, Paper
from paperfeed.rank.search import search_papers
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .search_corpus import load_search_corpus

QUERIES = [
    "reducing hubness when matching images and captions",
    "diffusion models image generation",
    "speech recognition",
    "language models reasoning",
    "turing lovelace",
]


def keyword_ids(conn, query: str, **kw) -> list[str]:
    return [h.arxiv_id for h in search_papers(conn, query, mode="keyword", limit=50, **kw).hits]


def paper(aid: str, title: str, abstract: str, author: str = "Ada Lovelace") -> Paper:
    return Paper(arxiv_id=aid, title=title, abstract=abstract, authors=[Author(author)],
                 categories=["cs.CL"], primary_category="cs.CL", source="arxiv-api")


def test_scores_equal_fts5_bm25(engine, db_kind):
    """The postings give exactly what FTS5's bm25() gives for the same any-word query."""
    if db_kind != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    from paperfeed.index.sqlite_backend import FTS_WEIGHTS, fts5_expression

    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        index = term_index(conn, backend_for(conn).text_changes)
        for query in QUERIES:
            words = query.split()
            expected = dict(conn.exec_driver_sql(
                "SELECT rowid, -bm25(papers_fts, ?, ?, ?) FROM papers_fts "
                "WHERE papers_fts MATCH ?",
                (*FTS_WEIGHTS, fts5_expression(words, [], [])),
            ).all())
            scores = index.scores(query_stems(words))
            assert scores is not None
            got = {int(pid): float(s) for pid, s in zip(index.ids, scores, strict=True) if s > 0}
            assert got.keys() == expected.keys(), query
            for pid, value in expected.items():
                assert got[pid] == pytest.approx(value, rel=1e-4, abs=1e-5), (query, pid)


def test_tokens_fold_case_diacritics_and_stem():
    segment, lengths = build_segment([("Schrödinger BRIDGES", "The bridge_of models", None)], 0)
    assert lengths.tolist() == [6.0]  # schrodinger bridges the bridge of models
    assert set(segment.vocab) == {"schroding", "bridg", "model"}  # stopwords not posted
    row, wtf = segment.postings("bridg")
    assert row.tolist() == [0] and wtf.tolist() == [3.0 + 1.0]  # title weight 3 + abstract 1
    assert query_stems(["Schrodinger", "the", "Bridge"]) == ["schroding", "bridg"]


def test_new_changed_and_deleted_papers_are_seen_at_once(engine):
    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        assert keyword_ids(conn, "zebrafish") == []  # builds the in-memory copy
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper("2502.00001", "Zebrafish larvae tracking", "We track fish.")])
    with engine.connect() as conn:
        assert keyword_ids(conn, "zebrafish") == ["2502.00001"]
    # a new version of the paper changes its title: the old word no longer finds it
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper("2502.00001", "Axolotl limb regeneration", "We grow limbs.")])
    with engine.connect() as conn:
        assert keyword_ids(conn, "axolotl") == ["2502.00001"]
        assert keyword_ids(conn, "zebrafish") == []
    with write_transaction(engine) as conn:
        conn.execute(delete(papers).where(papers.c.arxiv_id == "2502.00001"))
    with engine.connect() as conn:
        assert keyword_ids(conn, "axolotl") == []


def test_refreshed_copy_scores_like_a_fresh_build(engine, monkeypatch):
    """Segments added by refreshes (and masked replaced rows) give the same BM25 as one
    build over the same papers: document counts and lengths include every live paper."""
    monkeypatch.setattr(terms, "REBUILD_FRACTION", 10.0)  # the tiny corpus would rebuild
    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        term_index(conn, backend_for(conn).text_changes)
    for i in range(3):
        with write_transaction(engine) as conn:
            upsert_papers(conn, [paper(f"2502.0000{i}", f"Speech models round {i}",
                                       "Speech recognition and language models.")])
    with write_transaction(engine) as conn:  # change an original paper's abstract
        upsert_papers(conn, [paper("2501.00002", "Diffusion models for image generation at scale",
                                   "Speech diffusion, rewritten.", "Grace Hopper")])
    with engine.connect() as conn:
        refreshed = term_index(conn, backend_for(conn).text_changes)
        assert len(refreshed.segments) > 1 and refreshed.dead >= 1
        terms.forget()
        fresh = term_index(conn, backend_for(conn).text_changes)
        assert len(fresh.segments) == 1 and fresh.dead == 0
        for query in QUERIES + ["speech diffusion"]:
            stems = query_stems(query.split())
            a, b = refreshed.scores(stems), fresh.scores(stems)
            got = {int(p): float(s) for p, s in zip(refreshed.ids, a, strict=True) if s > 0}
            want = {int(p): float(s) for p, s in zip(fresh.ids, b, strict=True) if s > 0}
            assert got.keys() == want.keys()
            assert np.allclose([got[k] for k in want], list(want.values()), rtol=1e-5)


def test_phrases_exclusions_filters_and_hidden_in_the_keyword_arm(engine):
    load_search_corpus(engine, embed=False)
    with write_transaction(engine) as conn:
        upsert_papers(conn, [
            paper("2502.00001", "Captions for images", "Matching images and captions twice."),
            paper("2502.00002", "Images and captions", "Captions, matching images.", "Bo Li"),
        ])
    with engine.connect() as conn:
        everything = keyword_ids(conn, "matching images captions")
        assert {"2502.00001", "2502.00002"} <= set(everything)
        phrase = keyword_ids(conn, '"matching images and captions"')
        assert "2502.00001" in phrase and "2502.00002" not in phrase
        assert "2502.00001" not in keyword_ids(conn, "matching images captions -twice")
        assert keyword_ids(conn, "images captions author:li") == ["2502.00002"]
        conn.execute(update(papers).where(papers.c.arxiv_id == "2502.00002").values(hidden=True))
        assert "2502.00002" not in keyword_ids(conn, "matching images captions")


def test_stopword_only_query_still_answers(engine, db_kind):
    """Stopwords have no postings; FTS5 answers such a query. (PostgreSQL's english
    configuration leaves stopwords out of search_tsv: there it finds nothing.)"""
    if db_kind != "sqlite":
        pytest.skip("search_tsv has no stopwords")
    load_search_corpus(engine, embed=False)
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper("2502.00001", "To be or not to be", "Whether to be.")])
    with engine.connect() as conn:
        assert "2502.00001" in keyword_ids(conn, "to be or not to be")


def test_ties_break_by_paper_id_on_both_databases(engine):
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper(f"2502.0000{i}", "Identical twins", "Same text.")
                             for i in range(5)])
    with engine.connect() as conn:
        got = keyword_ids(conn, "identical twins")
        ids = dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())
    assert got == sorted(got, key=ids.__getitem__) and len(got) == 5


def test_saved_copy_starts_the_next_process_and_is_checked(engine, tmp_path, monkeypatch):
    """A full build is saved; a new process (simulated by forget()) loads it instead of
    tokenising, and a saved copy older than the database is brought up to date."""
    monkeypatch.setattr(terms, "REBUILD_FRACTION", 10.0)
    terms.use_cache_dir(engine, tmp_path)
    try:
        load_search_corpus(engine, embed=False)
        with engine.connect() as conn:
            built = term_index(conn, backend_for(conn).text_changes)
            before = keyword_ids(conn, "hubness captions")
        saved = list((tmp_path / "terms").glob("*-*-*-*"))
        assert len(saved) == 1
        terms.forget()
        calls = []
        monkeypatch.setattr(terms, "build_segment",
                            lambda *a: calls.append(a) or build_segment(*a))
        with engine.connect() as conn:
            loaded = term_index(conn, backend_for(conn).text_changes)
            assert calls == [] and loaded is not built
            assert keyword_ids(conn, "hubness captions") == before
        with write_transaction(engine) as conn:  # the saved copy is now one paper behind
            upsert_papers(conn, [paper("2502.00001", "Hubness of captions", "Captions.")])
        terms.forget()
        with engine.connect() as conn:
            assert keyword_ids(conn, "hubness captions")[0] == "2502.00001"
        assert len(calls) == 1 and len(calls[0][0]) == 1  # only the new paper tokenised
        # a damaged set is ignored (and rebuilt), never trusted
        for file in saved[0].glob("*.npy"):
            file.write_bytes(b"not an npy file")
        terms.forget()
        with engine.connect() as conn:
            assert keyword_ids(conn, "hubness captions")[0] == "2502.00001"
    finally:
        terms.use_cache_dir(engine, None)


def test_tfidf_norms_are_computed_in_bounded_steps(engine, monkeypatch):
    """The TF-IDF document norms (similar papers' keyword arm), recomputed by every web
    worker after new papers, take a block of terms at a time: the same norms as the
    one-shot formula, without temporaries the size of all postings (at 57,852 papers
    that one-shot computation peaked at 206 MB in each worker; in blocks, ~11 MB)."""
    import tracemalloc

    from paperfeed.index import tfidf

    rng = np.random.default_rng(5)
    words = [f"word{i}x" for i in range(3000)]
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper(f"2502.{i:05d}", " ".join(rng.choice(words, 8)),
                                   " ".join(rng.choice(words, 120))) for i in range(300)])
    with engine.connect() as conn:
        index = term_index(conn, backend_for(conn).text_changes)
    (segment,) = index.segments
    counts = np.diff(segment.starts)
    n = max(index.n_alive, 1)
    idf = np.log((1 + n) / (1 + counts.astype(np.float64))) + 1.0
    weights = (1.0 + np.log(np.maximum(segment.wtf, 1e-9))) * idf[np.repeat(
        np.arange(len(idf)), counts)]
    want = np.sqrt(np.bincount(segment.rows, weights * weights,
                               minlength=len(index.ids))).astype(np.float32)
    postings = len(segment.rows)
    assert postings > 20_000
    monkeypatch.setattr(tfidf, "NORM_CHUNK", 64)  # many blocks, some terms longer than one
    tfidf._NORMS.clear()
    tracemalloc.start()
    got = tfidf._norms(index)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.allclose(got, want, rtol=1e-6) and got.dtype == np.float32
    # the one-shot formula holds 4 float64/int64 arrays of `postings` entries at once
    assert peak < 2 * 8 * postings, (peak, postings)
