"""The discussion schema (SQLAlchemy Core): notifications, their email preferences, the
daily notification-digest ledger and reports of comments (the moderation queue).

Created by migration ``0017_discussion`` (which also adds ``comments.parent_id`` /
``root_id`` and ``collection_items.note``, declared in community_schema.py).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import TZ, Id, metadata

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # reply | mention | submission
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("actor_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", TZ, nullable=False),
    Column("read_at", TZ),
    # none (no email wanted) | queued (in the outbox) | pending (waits for the daily
    # digest) | digested (in a digest): moved in the transaction that queues the mail.
    Column("email_status", String(12), nullable=False, server_default="none"),
    # One notification per person and comment: a reply that also mentions its parent's
    # author, or an edit that adds a mention again, never notifies (or mails) twice.
    UniqueConstraint("user_id", "comment_id", name="uq_notifications_user_id"),
    Index("ix_notifications_user_unread", "user_id", "read_at"),
    Index("ix_notifications_email", "email_status", "user_id"),
    sqlite_autoincrement=True,
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    # No row means the defaults: every kind by email, sent at once.
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("email_replies", Boolean, nullable=False, server_default="1"),
    Column("email_mentions", Boolean, nullable=False, server_default="1"),
    Column("email_submissions", Boolean, nullable=False, server_default="1"),
    Column("email_batch", String(8), nullable=False, server_default="instant"),  # | daily
)

notification_digests = Table(
    "notification_digests",
    metadata,
    # The ledger of daily notification digests: the primary key is what makes a second
    # run (or a second worker) unable to mail the same person twice on one day.
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("notifications", Integer, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("created_at", TZ, nullable=False),
)

comment_reports = Table(
    "comment_reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("comment_id", Id, ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
    Column("reporter_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("created_at", TZ, nullable=False),
    Column("resolved_at", TZ),
    Column("resolution", String(12)),  # hidden | dismissed
    UniqueConstraint("comment_id", "reporter_id", name="uq_comment_reports_comment_id"),
    Index("ix_comment_reports_open", "resolved_at", "comment_id"),
    sqlite_autoincrement=True,
)
