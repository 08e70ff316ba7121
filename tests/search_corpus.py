"""The "search" corpus (see tests/factories.py), hand-written for the search tests:
distinct topics, authors, categories, dates, one hidden paper. Loaded through
upsert_papers and index_missing like real data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, update

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.index.vectors import index_missing
from paperfeed.models import Paper
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .factories import make_paper

TOPICS = [
    ("2501.00001", "Reducing hubness in cross-modal retrieval of images and captions",
     ("Hubness makes a few items nearest neighbours of many queries. We reduce hubness when "
     "matching images and captions with a simple normalisation of similarity scores."),
     ["Ada Lovelace", "Alan Turing"], ["cs.CV", "cs.IR"], dt.date(2025, 3, 3)),
    ("2501.00002", "Diffusion models for image generation at scale",
     ("We train diffusion models that generate high resolution images from text prompts and "
     "study how image quality scales with model size."),
     ["Grace Hopper"], ["cs.CV"], dt.date(2025, 3, 4)),
    ("2501.00003", "Large language models as reasoning engines",
     ("Large language models solve multi-step reasoning problems when prompted with chains "
     "of thought. We survey reasoning benchmarks for language models."),
     ["Yann LeCun", "Ada Lovelace"], ["cs.CL"], dt.date(2025, 6, 10)),
    ("2501.00004", "Speech recognition with self-supervised audio encoders",
     "Self-supervised audio encoders improve speech recognition for low resource languages.",
     ["Alan Turing"], ["cs.CL", "eess.AS"], dt.date(2025, 6, 11)),
    ("2501.00005", "Graph neural networks for molecule property prediction",
     ("Graph neural networks predict molecule properties from atoms and bonds; message "
     "passing captures chemistry."),
     ["Marie Curie"], ["cs.LG"], dt.date(2026, 1, 5)),
    ("2501.00006", "A survey of large language model alignment",
     ("A survey of alignment for large language models: preference learning, reward models "
     "and red teaming."),
     ["Grace Hopper", "Yann LeCun"], ["cs.CL", "cs.AI"], dt.date(2026, 1, 6)),
    ("2501.00007", "Hidden paper about image captions",
     "This paper about images and captions and hubness is hidden by a moderator.",
     ["Eve Hidden"], ["cs.CV"], dt.date(2025, 3, 5)),
    ("2501.00008", "Robot navigation with visual language maps",
     "Robots navigate to objects named in natural language using maps built from images.",
     ["José Núñez"], ["cs.RO", "cs.CV"], dt.date(2026, 2, 1)),
    ("2501.00009", "日本語の論文検索",
     "多言語の検索 with Japanese text and emoji 😀 in the abstract.",
     ["Taro Yamada"], ["cs.CL"], dt.date(2026, 2, 2)),
    ("2501.00010", "Contrastive image caption retrieval with hard negatives",
     ("Contrastive learning aligns images and captions; hard negatives improve cross-modal "
     "retrieval of captions for images."),
     ["Ada Lovelace"], ["cs.CV"], dt.date(2026, 3, 1)),
]
HIDDEN = "2501.00007"


def search_papers_corpus() -> list[Paper]:
    """The corpus as Paper records."""
    return [make_paper(aid, title, abstract, cats, day, names, source="arxiv-api")
            for aid, title, abstract, names, cats, day in TOPICS]


def load_search_corpus(engine: Engine, *, embed: bool = True) -> HashingEmbedder:
    """Insert the corpus, hide one paper, embed with the hashing embedder; returns it."""
    with write_transaction(engine) as conn:
        upsert_papers(conn, search_papers_corpus())
        conn.execute(update(papers).where(papers.c.arxiv_id == HIDDEN).values(hidden=True))
    embedder = HashingEmbedder()
    if embed:
        index_missing(engine, embedder)
    return embedder
