"""discussion: threaded comments, notifications, their email preferences and daily digest
ledger, comment reports (the moderation queue), and notes on collection items

Revision ID: 0017_discussion
Revises: 0010_users
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_discussion"
down_revision = "0010_users"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# SQLite adds a column with an inline REFERENCES clause (no ALTER ... ADD CONSTRAINT there);
# PostgreSQL takes the same clause, with BIGINT ids.
_ADD_THREAD_COLUMNS = {
    "sqlite": [
        "ALTER TABLE comments ADD COLUMN parent_id INTEGER "
        "REFERENCES comments (id) ON DELETE SET NULL",
        "ALTER TABLE comments ADD COLUMN root_id INTEGER "
        "REFERENCES comments (id) ON DELETE SET NULL",
    ],
    "postgresql": [
        "ALTER TABLE comments ADD COLUMN parent_id BIGINT "
        "CONSTRAINT fk_comments_parent_id_comments REFERENCES comments (id) ON DELETE SET NULL",
        "ALTER TABLE comments ADD COLUMN root_id BIGINT "
        "CONSTRAINT fk_comments_root_id_comments REFERENCES comments (id) ON DELETE SET NULL",
    ],
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _ADD_THREAD_COLUMNS["sqlite" if dialect == "sqlite" else "postgresql"]:
        op.execute(statement)
    op.create_index("ix_comments_root_id", "comments", ["root_id", "id"])
    op.create_index("ix_comments_parent_id", "comments", ["parent_id"])
    op.add_column("collection_items",
                  sa.Column("note", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "notifications",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                               name="fk_notifications_user_id_users"),
                  nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("comment_id", ID, sa.ForeignKey("comments.id", ondelete="CASCADE",
                                                  name="fk_notifications_comment_id_comments"),
                  nullable=False),
        sa.Column("paper_id", ID, sa.ForeignKey("papers.id", ondelete="CASCADE",
                                                name="fk_notifications_paper_id_papers"),
                  nullable=False),
        sa.Column("actor_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL",
                                                name="fk_notifications_actor_id_users")),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("read_at", TZ),
        sa.Column("email_status", sa.String(length=12), nullable=False, server_default="none"),
        sa.UniqueConstraint("user_id", "comment_id", name="uq_notifications_user_id"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.Index("ix_notifications_email", "email_status", "user_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                               name="fk_notification_preferences_user_id_users"),
                  primary_key=True),
        sa.Column("email_replies", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("email_mentions", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("email_submissions", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("email_batch", sa.String(length=8), nullable=False, server_default="instant"),
    )
    op.create_table(
        "notification_digests",
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                               name="fk_notification_digests_user_id_users"),
                  primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "comment_reports",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("comment_id", ID, sa.ForeignKey("comments.id", ondelete="CASCADE",
                                                  name="fk_comment_reports_comment_id_comments"),
                  nullable=False),
        sa.Column("reporter_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                   name="fk_comment_reports_reporter_id_users"),
                  nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ),
        sa.Column("resolution", sa.String(length=12)),
        sa.UniqueConstraint("comment_id", "reporter_id", name="uq_comment_reports_comment_id"),
        sa.Index("ix_comment_reports_open", "resolved_at", "comment_id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("comment_reports")
    op.drop_table("notification_digests")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
    op.drop_column("collection_items", "note")
    op.drop_index("ix_comments_parent_id", table_name="comments")
    op.drop_index("ix_comments_root_id", table_name="comments")
    with op.batch_alter_table("comments") as batch:  # SQLite: a column with a REFERENCES
        batch.drop_column("root_id")
        batch.drop_column("parent_id")
