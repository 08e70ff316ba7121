"""search index: one TL;DR and 3-8 keywords per paper (upstream Hugging Face or extractive)

Revision ID: 0009_summaries
Revises: 0005_terms
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_summaries"
down_revision = "0005_terms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_summaries",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("tldr", sa.Text(), nullable=False, server_default=""),
        sa.Column("tldr_source", sa.String(length=64), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("keywords_source", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"],
                                name=op.f("fk_paper_summaries_paper_id_papers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_summaries")),
    )


def downgrade() -> None:
    op.drop_table("paper_summaries")
