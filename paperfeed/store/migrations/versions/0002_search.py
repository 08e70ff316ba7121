"""search index: paper vectors (float32 blobs on SQLite, pgvector + HNSW on PostgreSQL)

Revision ID: 0002_search
Revises: 0001_core
"""
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import UserDefinedType

revision = "0002_search"
down_revision = "0001_core"
branch_labels = None
depends_on = None

DIM = 384


class _Vector(UserDefinedType[Any]):
    """pgvector's ``vector(n)`` column type, as far as CREATE TABLE needs it."""

    cache_ok = True

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def get_col_spec(self, **_: Any) -> str:
        return f"vector({self.dim})"


# Dialect DDL frozen as it was when this revision was written.
# SQLite: each process searches an in-memory copy of the float32 blobs and reloads it when
# index_state.generation moves (these triggers move it on every change).
SQLITE_VECTOR_INDEX = [
    "INSERT OR IGNORE INTO index_state(name, generation) VALUES ('paper_vectors', 0)",
    """CREATE TRIGGER IF NOT EXISTS paper_vectors_gen_I AFTER INSERT ON paper_vectors
        BEGIN
            UPDATE index_state SET generation = generation + 1 WHERE name = 'paper_vectors';
        END""",
    """CREATE TRIGGER IF NOT EXISTS paper_vectors_gen_U AFTER UPDATE ON paper_vectors
        BEGIN
            UPDATE index_state SET generation = generation + 1 WHERE name = 'paper_vectors';
        END""",
    """CREATE TRIGGER IF NOT EXISTS paper_vectors_gen_D AFTER DELETE ON paper_vectors
        BEGIN
            UPDATE index_state SET generation = generation + 1 WHERE name = 'paper_vectors';
        END""",
]
SQLITE_DROP_VECTOR_INDEX = [
    "DROP TRIGGER IF EXISTS paper_vectors_gen_I",
    "DROP TRIGGER IF EXISTS paper_vectors_gen_U",
    "DROP TRIGGER IF EXISTS paper_vectors_gen_D",
]
# PostgreSQL: pgvector; inner product on unit vectors ranks exactly like cosine.
POSTGRES_VECTOR_EXTENSION = "CREATE EXTENSION IF NOT EXISTS vector"
POSTGRES_VECTOR_INDEX = [
    """CREATE INDEX IF NOT EXISTS ix_paper_vectors_embedding_hnsw ON paper_vectors
        USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)""",
]
POSTGRES_DROP_VECTOR_INDEX = [
    "DROP INDEX IF EXISTS ix_paper_vectors_embedding_hnsw",
]


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    if is_postgres:
        op.execute(POSTGRES_VECTOR_EXTENSION)
    op.create_table(
        "paper_vectors",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("embedding", sa.LargeBinary().with_variant(_Vector(DIM), "postgresql"),
                  nullable=False),
        sa.Column("embedded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"],
                                name=op.f("fk_paper_vectors_paper_id_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_vectors")),
    )
    op.create_table(
        "index_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_index_state")),
    )
    for ddl in POSTGRES_VECTOR_INDEX if is_postgres else SQLITE_VECTOR_INDEX:
        op.execute(ddl)


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for ddl in POSTGRES_DROP_VECTOR_INDEX if is_postgres else SQLITE_DROP_VECTOR_INDEX:
        op.execute(ddl)
    op.drop_table("index_state")
    op.drop_table("paper_vectors")
