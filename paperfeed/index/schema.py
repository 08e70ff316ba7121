"""Tables of the search index: one vector per paper, and a counter that moves on each change.

The embedding column is a float32 blob on SQLite and a pgvector ``vector(384)`` on
PostgreSQL (with an HNSW index made by migration 0002_search). ``model_id`` and
``text_hash`` tell ``paperfeed index`` which vectors are stale.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, String, Table, Text

from paperfeed.index.postgres_vector import Vector
from paperfeed.store.schema import TZ, Id, metadata

DIM = 384  # all-MiniLM-L6-v2; another width needs its own migration on PostgreSQL

paper_vectors = Table(
    "paper_vectors",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", String(128), nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("embedding", LargeBinary().with_variant(Vector(DIM), "postgresql"), nullable=False),
    Column("embedded_at", TZ, nullable=False),
)

# One row per derived index; ``generation`` grows with every change to its source table
# (SQLite triggers), so a process holding an in-memory copy knows when to reload it.
index_state = Table(
    "index_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", BigInteger, nullable=False, server_default="0"),
)

# One TL;DR and 3-8 keywords per paper (migration 0009_summaries). ``method`` is the
# extractive method that made the row and ``text_hash`` digests its inputs (title, abstract,
# upstream ai_summary / ai_keywords): `paperfeed index` recomputes a row only when either
# differs. ``*_source`` says where each part came from: "hf" or the extractive method.
paper_summaries = Table(
    "paper_summaries",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("method", String(64), nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("tldr", Text, nullable=False, server_default=""),
    Column("tldr_source", String(64), nullable=False),
    Column("keywords", Text, nullable=False, server_default="[]"),
    Column("keywords_source", String(64), nullable=False),
    Column("computed_at", TZ, nullable=False),
)

# One abstractive TL;DR per paper from an OpenAI-compatible endpoint (migration
# 0019_llm_summaries; index/llm_summaries.py). The row is the cache: `paperfeed index` asks
# again only when ``model``, ``prompt_version`` or ``text_hash`` (title + abstract) differ
# from what it would send now. Shown over the extractive TL;DR, under an upstream one.
paper_llm_summaries = Table(
    "paper_llm_summaries",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(128), nullable=False),
    Column("prompt_version", String(32), nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("tldr", Text, nullable=False),
    Column("computed_at", TZ, nullable=False),
)
