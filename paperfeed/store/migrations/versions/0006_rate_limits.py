"""community: rate-limit counters shared by every server process

Revision ID: 0006_rate_limits
Revises: 0003_community
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_rate_limits"
down_revision = "0003_community"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key_digest", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "key_digest", "window_start",
                                name=op.f("pk_rate_limit_hits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_hits")
