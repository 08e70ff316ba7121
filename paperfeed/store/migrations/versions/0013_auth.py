"""community: per-account log-in failures and rotatable personal feed URLs

Revision ID: 0013_auth
Revises: 0010_users

``login_failures`` counts failed log-ins per account (a digest of the address typed) for
the growing per-account delay; ``users.feed_key`` is mixed into the user's personal feed
URL, so the user can change it (NULL keeps the URL every account had before).
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_auth"
down_revision = "0010_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key_digest", sa.String(length=32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key_digest", name=op.f("pk_login_failures")),
    )
    op.add_column("users", sa.Column("feed_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("feed_key")
    op.drop_table("login_failures")
