"""jobs: the worker's jobs, their last success, last error and next run

Revision ID: 0015_jobs
Revises: 0009_summaries
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_jobs"
down_revision = "0009_summaries"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker_jobs",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("last_started_at", TZ),
        sa.Column("last_success_at", TZ),
        sa.Column("last_error_at", TZ),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("last_seconds", sa.Float()),
        sa.Column("next_run_at", TZ),
    )


def downgrade() -> None:
    op.drop_table("worker_jobs")
