"""search index: paper vectors (float32 blobs on SQLite, pgvector + HNSW on PostgreSQL)

Revision ID: 0002_search
Revises: 0001_core
"""
import sqlalchemy as sa
from alembic import op

from paperfeed.index import postgres_vector, sqlite_backend

revision = "0002_search"
down_revision = "0001_core"
branch_labels = None
depends_on = None

DIM = 384


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    if is_postgres:
        op.execute(postgres_vector.VECTOR_EXTENSION_DDL)
    op.create_table(
        "paper_vectors",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("embedding", sa.LargeBinary().with_variant(postgres_vector.Vector(DIM), "postgresql"),
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
    for ddl in (postgres_vector if is_postgres else sqlite_backend).VECTOR_INDEX_DDL:
        op.execute(ddl)


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for ddl in (postgres_vector if is_postgres else sqlite_backend).DROP_VECTOR_INDEX_DDL:
        op.execute(ddl)
    op.drop_table("index_state")
    op.drop_table("paper_vectors")
