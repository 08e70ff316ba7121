"""TL;DR and keywords: the extractive methods, upstream values first, incremental upkeep."""

from __future__ import annotations

import json
import os

import numpy as np
from sqlalchemy import select, update

from paperfeed.index import summaries
from paperfeed.index.embedder import HashingEmbedder
from paperfeed.index.keywords import Candidate, candidate_phrases, select_keywords
from paperfeed.index.schema import paper_summaries
from paperfeed.index.summaries import METHOD, get_summaries, index_summaries
from paperfeed.index.tldr import clean_latex, extractive_tldr, split_sentences
from paperfeed.models import Paper, Signal
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .factories import record_callers
from .search_corpus import load_search_corpus

ABSTRACT = (
    "Recently, large language models have attracted attention for code generation. "
    "However, they often fail on long programs, e.g. those with many files. "
    "In this paper, we propose RepoCoder, a retrieval-augmented code generation framework "
    "that iteratively retrieves repository context for large language models. "
    "Experiments on two benchmarks show gains of 10% over baselines."
)


def test_the_contribution_sentence_is_the_tldr():
    tldr = extractive_tldr("RepoCoder: retrieval-augmented code generation", ABSTRACT)
    assert tldr.startswith("In this paper, we propose RepoCoder")
    assert extractive_tldr("A title", "") == ""
    # without a cue phrase the most central sentence wins, not the background one
    plain = ("Graphs are everywhere. Message passing graph neural networks predict molecule "
             "properties from atoms and bonds of molecule graphs. Thanks to the reviewers.")
    assert extractive_tldr("Graph neural networks for molecule properties", plain) \
        .startswith("Message passing")


def test_sentences_and_latex():
    assert split_sentences("We use e.g. BERT. It works, cf. Fig. 2 of Smith et al. Done.") == [
        "We use e.g. BERT.", "It works, cf. Fig. 2 of Smith et al. Done."]
    assert clean_latex(r"runs in $\mathcal{O}(n^2)$ time with \textbf{90\%} \cite{x} accuracy") \
        == "runs in O(n^2) time with 90% accuracy"
    assert clean_latex(r"a $\alpha$-stable \emph{very} good~model") == "a α-stable very good model"
    long = "We propose " + " ".join(["word"] * 100) + "."
    assert extractive_tldr("t", long).endswith("…") and (
        len(extractive_tldr("t", long).split()) <= 61
    )


def test_candidates_are_noun_phrase_like_and_ranked_by_prior():
    cands = candidate_phrases("RepoCoder: retrieval-augmented code generation", ABSTRACT,
                              stem=lambda w: w.rstrip("s"), idf=lambda s: 1.0, limit=30)
    phrases = [c.phrase for c in cands]
    assert "code generation" in phrases and "large language models" in phrases
    assert "RepoCoder" in phrases  # mixed case kept
    assert not any(w in p.split() for p in phrases for w in ("propose", "we", "the", "often"))
    assert cands[0].phrase in {"code generation", "retrieval-augmented code generation"}


def test_mmr_picks_relevant_and_diverse_phrases():
    cands = [Candidate(p, tuple(p.split()), 1.0) for p in
             ("graph networks", "graph neural networks", "molecules", "chemistry", "weather")]
    vectors = np.array([[1, 0, 0], [0.99, 0.14, 0], [0.6, 0.8, 0], [0.55, 0.83, 0.1],
                        [0, 0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    picked = select_keywords(cands, vectors, np.array([0.8, 0.6, 0], dtype=np.float32))
    assert picked[0] in {"graph networks", "graph neural networks", "molecules"}
    assert not {"graph networks", "graph neural networks"} <= set(picked)  # sub-phrase
    assert "weather" not in picked  # irrelevant
    assert 3 <= len(picked) <= 8 or len(picked) == len(cands) - 1


def test_every_paper_gets_a_tldr_and_keywords_once(engine):
    load_search_corpus(engine)
    embedder = HashingEmbedder()
    first = index_summaries(engine, embedder)
    with engine.connect() as conn:
        ids = list(conn.execute(select(papers.c.id)).scalars())
        found = get_summaries(conn, ids)
    assert first.computed == len(ids) and set(found) == set(ids)
    for summary in found.values():
        assert summary.tldr_source == METHOD and summary.keywords_source == METHOD
        assert 3 <= len(summary.keywords) <= 8 or summary.keywords
    again = index_summaries(engine, embedder)
    assert again.computed == 0 and again.up_to_date == len(ids)
    # a text change recomputes that paper only; a method change recomputes everything
    with write_transaction(engine) as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == "2501.00002")
                     .values(abstract="We propose protein folding with diffusion models."))
    assert index_summaries(engine, embedder).computed == 1
    with write_transaction(engine) as conn:
        conn.execute(update(paper_summaries).values(method="paperfeed-extractive-v0"))
    assert index_summaries(engine, embedder).computed == len(ids)


def test_upstream_hugging_face_values_win_and_say_so(engine):
    paper = Paper(arxiv_id="2502.00001", title="Copernicus foundation model",
                  abstract="We propose a model. It is <b>good</b> at $x$ sensing tasks.",
                  signals=[Signal("hf", "ai_summary", "A unified <script>x</script> model."),
                           Signal("hf", "ai_keywords", json.dumps(["Earth observation", "FM"]))],
                  source="hf")
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper])
    run = index_summaries(engine, HashingEmbedder())  # no vector needed: both upstream
    assert run.computed == 1
    with engine.connect() as conn:
        pid = conn.execute(select(papers.c.id)).scalar_one()
        summary = get_summaries(conn, [pid])[pid]
    assert summary.tldr == "A unified <script>x</script> model." and summary.tldr_source == "hf"
    assert summary.keywords == ("Earth observation", "FM") and summary.keywords_source == "hf"


def test_papers_without_a_vector_wait(engine):
    load_search_corpus(engine, embed=False)
    run = index_summaries(engine, HashingEmbedder())
    assert run.computed == 0 and run.waiting == run.papers > 0


def test_forked_workers_write_what_one_process_writes(engine, monkeypatch, tmp_path):
    load_search_corpus(engine)
    embedder = HashingEmbedder()
    columns = (paper_summaries.c.paper_id, paper_summaries.c.tldr, paper_summaries.c.keywords,
               paper_summaries.c.tldr_source, paper_summaries.c.keywords_source)
    index_summaries(engine, embedder, batch_size=2, workers=1)
    with engine.connect() as conn:
        alone = conn.execute(select(*columns).order_by(paper_summaries.c.paper_id)).all()
        conn.execute(paper_summaries.delete())
        conn.commit()
    callers = record_callers(monkeypatch, summaries, "_extract", tmp_path / "pids")
    run = index_summaries(engine, embedder, batch_size=2, workers=2)
    assert run.computed == len(alone) >= 6  # several batches
    assert callers() and os.getpid() not in callers()  # the candidates came from the workers
    with engine.connect() as conn:
        assert conn.execute(select(*columns).order_by(paper_summaries.c.paper_id)).all() == alone
