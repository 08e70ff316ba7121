"""Team channels (Slack, Discord, Mattermost, Matrix, signed JSON webhooks) and their post
ledger. Created by migration ``0011_channels``.

``channels.url`` is a secret (whoever has a Slack webhook URL can post to that channel):
it is stored, used to post, and shown only redacted. ``channel_posts`` is the ledger that
makes posting exactly-once per (channel, period), with the same states as the digest
ledger: claimed -> sending -> sent | empty | deferred (5xx after retries) | failed (4xx;
the channel is paused) | unknown (a sender died mid-request to a platform that cannot
de-duplicate: not repeated, shown to the operator).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import TZ, Id, metadata

channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # slack | discord | mattermost | matrix | webhook
    Column("url", Text, nullable=False),
    Column("secret", String(128), nullable=False, server_default=""),  # webhook HMAC key
    Column("feed", String(20), nullable=False),  # daily | trending | category | search | collection
    Column("feed_arg", String(500), nullable=False, server_default=""),
    Column("category", String(40), nullable=False, server_default=""),
    Column("max_papers", Integer, nullable=False, server_default="10"),
    Column("owner_id", Id, ForeignKey("users.id", ondelete="CASCADE")),  # NULL: the site's
    Column("paused", Boolean, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", TZ, nullable=False),
    sqlite_autoincrement=True,
)

channel_posts = Table(
    "channel_posts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("period", String(20), nullable=False),  # the listing day, YYYY-MM-DD
    Column("status", String(12), nullable=False),
    Column("owner", String(120), nullable=False),
    Column("delivery_id", String(40), nullable=False),  # sent as X-Paperfeed-Delivery
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("papers", Integer, nullable=False, server_default="0"),
    Column("response", String(300), nullable=False, server_default=""),
    Column("claimed_at", TZ, nullable=False),
    Column("finished_at", TZ),
    UniqueConstraint("channel_id", "period"),
    sqlite_autoincrement=True,
)
