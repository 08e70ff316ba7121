"""Follows and read state (SQLAlchemy Core). Created by migration ``0016_follows``.

``follows`` is the one model of what a person follows: authors, categories and saved
searches (query + filters). The follow buttons, the "Following" page and the digest form
all edit it; "For you", the digest and the personal feed rank with it. A follow belongs to
an account, or (mail-only subscribers) to a subscription: exactly one of the two.

``seen_papers`` is the read state of signed-in users: one row per user and paper opened,
voted on or dismissed. Anonymous visits store nothing.
"""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Table

from .schema import TZ, Id, metadata

follows = Table(
    "follows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE")),
    Column("subscription_id", Id, ForeignKey("subscriptions.id", ondelete="CASCADE")),
    Column("kind", String(16), nullable=False),  # author | category | search
    Column("value", String(500), nullable=False),  # name, category, or query text
    Column("filters", JSON, nullable=False),  # search only: {"category": .., "author": ..}
    Column("created_at", TZ, nullable=False),
    CheckConstraint("(user_id IS NULL) <> (subscription_id IS NULL)", name="one_owner"),
    Index("ix_follows_user_id", "user_id", "kind"),
    Index("ix_follows_subscription_id", "subscription_id", "kind"),
    sqlite_autoincrement=True,
)

seen_papers = Table(
    "seen_papers",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("seen_at", TZ, nullable=False),
)
