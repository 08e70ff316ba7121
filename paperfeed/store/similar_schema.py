"""Stored similar-papers lists (migration ``0018_similar``), one packed row per paper.

``paperfeed index`` writes them (rank/similar_lists.py); the paper page, ``paperfeed
similar`` and ``/api/papers/{id}/similar`` read them. ``neighbours`` holds the paper's best
candidates by text evidence (vector cosine + TF-IDF), best first, as little-endian records
of (paper id int64, cosine float32 or NaN, TF-IDF cosine float32). ``method`` names the
ranking and its parameters, ``model_id`` / ``text_hash`` the paper's vector the list was
computed from: a row whose stamp differs from the current one is not used. ``stale`` marks
a list that a newer paper may belong in; it is served until ``paperfeed index`` refreshes it.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, LargeBinary, String, Table, false

from .schema import TZ, Id, metadata

similar_lists = Table(
    "similar_lists",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("method", String(64), nullable=False),
    Column("model_id", String(128), nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("stale", Boolean, nullable=False, server_default=false()),
    Column("neighbours", LargeBinary, nullable=False),
    Column("computed_at", TZ, nullable=False),
)
