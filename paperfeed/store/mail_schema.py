"""The mail schema (SQLAlchemy Core): subscriptions, their interest vectors, the digest send
ledger, papers already sent, recommendation feedback and the outbox of transactional mail.

Created by migration ``0004_mail`` (a branch off ``0001_core``). ``subscriptions.user_id``
points at ``users.id`` without a foreign key so the mail and community branches stay
independent; the web layer keeps them consistent.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import TZ, Id, metadata

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("user_id", Id),  # users.id when the subscriber has an account (no FK: see above)
    # pending (awaiting double opt-in) | active | paused (bounces) | unsubscribed
    Column("status", String(16), nullable=False),
    Column("frequency", String(8), nullable=False, server_default="daily"),  # daily | weekly
    Column("content", String(16), nullable=False, server_default="both"),  # trending|personal|both
    # Interests, authors and categories followed: follow_schema.follows (0016_follows).
    Column("exclude_categories", JSON, nullable=False),  # list[str]
    Column("muted_keywords", JSON, nullable=False),  # list[str]
    Column("max_papers", Integer, nullable=False, server_default="10"),
    Column("source", String(16), nullable=False, server_default="web"),  # web | cli | import
    Column("failures", Integer, nullable=False, server_default="0"),  # consecutive hard bounces
    Column("last_error", Text),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("confirmed_at", TZ),
    Column("unsubscribed_at", TZ),
    Index("ix_subscriptions_due", "status", "frequency", "id"),
    Index("ix_subscriptions_user_id", "user_id"),
)

interest_vectors = Table(
    "interest_vectors",
    metadata,
    # One embedded interest text per row, computed when the subscription is saved, so that
    # building 100k digests never runs the model.
    Column(
        "subscription_id",
        Id,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("model_id", String(128), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, L2-normalised
)

digest_runs = Table(
    "digest_runs",
    metadata,
    Column("period", String(32), primary_key=True),  # "daily:2026-08-14", "weekly:2026-W33"
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),  # set when a run found nothing left to send
    Column("papers", Integer, nullable=False, server_default="0"),
)

digest_sends = Table(
    "digest_sends",
    metadata,
    # The send ledger: one row per (subscription x digest period). The unique constraint is
    # what makes two workers unable to claim the same digest.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        Id,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("period", String(32), nullable=False),
    Column("email", String(320), nullable=False),
    # claimed -> sending -> sent | empty | bounced | deferred | unknown
    Column("status", String(12), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("owner", String(160), nullable=False),  # "host:pid:run" of the claiming worker
    Column("claimed_at", TZ, nullable=False),
    Column("sent_at", TZ),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("paper_ids", JSON),
    UniqueConstraint("subscription_id", "period", name="uq_digest_sends_subscription_period"),
    Index("ix_digest_sends_period_status", "period", "status"),
)

sent_papers = Table(
    "sent_papers",
    metadata,
    # "Never the same paper twice to the same person."
    Column(
        "subscription_id",
        Id,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("sent_on", Date, nullable=False),
)

recommendation_feedback = Table(
    "recommendation_feedback",
    metadata,
    # subject is "user:<id>" or "sub:<id>": one table for account holders and mail-only
    # subscribers. kind: not_interested.
    Column("subject", String(40), primary_key=True),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", TZ, nullable=False),
)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    # Transactional mail (confirmation, verification, password reset) recorded in the same
    # transaction as the change that causes it and delivered after commit. A sender holds
    # a row by a lease (claimed_at, 0012_mail_outbox); sent_at is set once it is delivered;
    # next_attempt_at spaces the retries of a failed row.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("recipient", String(320), nullable=False),
    Column("name", String(64), nullable=False),
    Column("context", JSON, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("sent_at", TZ),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("claimed_at", TZ),
    Column("next_attempt_at", TZ),
    Index("ix_mail_outbox_pending", "sent_at", "id"),
)
