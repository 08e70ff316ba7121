"""Tables of the search index: one vector per paper, and a counter that moves on each change.

The embedding column is a float32 blob on SQLite and a pgvector ``vector(384)`` on
PostgreSQL (with an HNSW index made by migration 0002_search). ``model_id`` and
``text_hash`` tell ``paperfeed index`` which vectors are stale.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, String, Table

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
