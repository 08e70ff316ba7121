"""search index: stored similar-papers lists, one packed row per paper

Revision ID: 0018_similar
Revises: 0009_summaries
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_similar"
down_revision = "0009_summaries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_lists",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=128), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("neighbours", sa.LargeBinary(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"],
                                name=op.f("fk_similar_lists_paper_id_papers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_similar_lists")),
    )


def downgrade() -> None:
    op.drop_table("similar_lists")
