"""channels: team channels (Slack, Discord, Mattermost, Matrix, webhooks) and their ledger

Revision ID: 0011_channels
Revises: 0004_mail
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_channels"
down_revision = "0004_mail"
branch_labels = None
depends_on = "0003_community"

TZ = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False, server_default=""),
        sa.Column("feed", sa.String(length=20), nullable=False),
        sa.Column("feed_arg", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("category", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("max_papers", sa.Integer(), nullable=False, server_default="10"),
        sa.Column("owner_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                name="fk_channels_owner_id_users")),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "channel_posts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("channel_id", ID, sa.ForeignKey("channels.id", ondelete="CASCADE",
                                                  name="fk_channel_posts_channel_id_channels"),
                  nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("papers", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("response", sa.String(length=300), nullable=False, server_default=""),
        sa.Column("claimed_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.UniqueConstraint("channel_id", "period", name="uq_channel_posts_channel_id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("channel_posts")
    op.drop_table("channels")
