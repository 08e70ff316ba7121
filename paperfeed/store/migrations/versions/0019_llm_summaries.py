"""search index: abstractive TL;DRs from an OpenAI-compatible endpoint, one per paper

Revision ID: 0019_llm_summaries
Revises: 0015_jobs
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_llm_summaries"
down_revision = "0015_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_llm_summaries",
        sa.Column("paper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("tldr", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"],
                                name=op.f("fk_paper_llm_summaries_paper_id_papers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_llm_summaries")),
    )


def downgrade() -> None:
    op.drop_table("paper_llm_summaries")
