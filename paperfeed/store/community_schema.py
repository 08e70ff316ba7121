"""The community schema (SQLAlchemy Core): users, sessions, votes, comments, collections,
submissions, personal API tokens, sign-up invites, and the data version that page caches key on.

Created by migration ``0003_community`` (rate limits: ``0006_rate_limits``, invites:
``0010_users``, log-in failures and ``users.feed_key``: ``0013_auth``). Counters on
``papers`` (upvotes, num_comments) are kept exact by the same transaction that writes the
rows they count.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import TZ, Id, metadata

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(40), nullable=False, unique=True),  # lower-case [a-z0-9_-]
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("password_hash", String(255), nullable=False),  # argon2id encoded hash
    Column("display_name", String(80), nullable=False, server_default=""),
    Column("bio", Text, nullable=False, server_default=""),
    Column("email_verified_at", TZ),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("created_at", TZ, nullable=False),
    # mixed into the personal feed URL; a new random value changes it (0013_auth)
    Column("feed_key", String(64)),
    # Visit marks (0016_follows): active_at is the last request that counted as a visit;
    # last_visit_at the start of the visit before this one ("new since your last visit").
    Column("last_visit_at", TZ),
    Column("active_at", TZ),
    Column("theme", String(8), nullable=False, server_default=""),  # "" (system) | light | dark
)

sessions = Table(
    "sessions",
    metadata,
    # sha256 of the cookie value: a leaked database does not leak live sessions.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("user_agent", String(255), nullable=False, server_default=""),
    Index("ix_sessions_user_id", "user_id"),
)

votes = Table(
    "votes",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", TZ, nullable=False),
    Index("ix_votes_paper_id", "paper_id", "created_at"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("body", Text, nullable=False),  # Markdown source (paperfeed/comment_markup.py)
    Column("created_at", TZ, nullable=False),
    Column("edited_at", TZ),
    Column("hidden", Boolean, nullable=False, server_default="0"),  # by an admin
    # Threads (0017_discussion): the comment replied to, and the thread's top comment.
    Column("parent_id", Id, ForeignKey("comments.id", ondelete="SET NULL")),
    Column("root_id", Id, ForeignKey("comments.id", ondelete="SET NULL")),
    Index("ix_comments_paper_id", "paper_id", "created_at"),
    Index("ix_comments_user_id", "user_id"),
    Index("ix_comments_root_id", "root_id", "id"),
    Index("ix_comments_parent_id", "parent_id"),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("is_public", Boolean, nullable=False, server_default="0"),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Index("ix_collections_user_id", "user_id"),
)

collection_items = Table(
    "collection_items",
    metadata,
    Column(
        "collection_id", Id, ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("added_at", TZ, nullable=False),
    Column("note", Text, nullable=False, server_default=""),  # the owner's note (0017)
    Index("ix_collection_items_order", "collection_id", "position"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # The feed day the paper joins: the site's "today" when it was submitted.
    Column("feed_day", Date, nullable=False),
    Column("created_at", TZ, nullable=False),
    UniqueConstraint("paper_id", name="uq_submissions_paper_id"),
    Index("ix_submissions_feed_day", "feed_day"),
    Index("ix_submissions_user_id", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex
    Column("prefix", String(16), nullable=False),  # shown in settings to tell tokens apart
    Column("created_at", TZ, nullable=False),
    Column("last_used_at", TZ),
    Index("ix_api_tokens_user_id", "user_id"),
)

# One-time sign-up invites (``paperfeed users invite``; store/invites.py), by token digest.
invites = Table(
    "invites",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the URL's token
    Column("created_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("used_at", TZ),
    Column("used_by", Id, ForeignKey("users.id", ondelete="SET NULL")),
)

data_versions = Table(
    "data_versions",
    metadata,
    # One row ("site"), bumped in the transaction of every vote, comment, submission or
    # moderation: page caches in every worker key on it, so a vote invalidates them.
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

# Rate-limit counters shared by every server process (web/ratelimit.py): hits per bucket,
# key digest (never the raw address or email) and fixed window; old windows are pruned.
rate_limit_hits = Table(
    "rate_limit_hits",
    metadata,
    Column("bucket", String(32), primary_key=True),
    Column("key_digest", String(32), primary_key=True),
    Column("window_start", Integer, primary_key=True),  # unix seconds, a window multiple
    Column("hits", Integer, nullable=False),
)

# Failed log-ins per account (web/login_throttle.py, migration 0013_auth): keyed by a
# digest of the address typed, whether or not an account has it.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key_digest", String(32), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", Float, nullable=False),  # unix seconds
)

# SQLite's per-table high-water marks of public ids (store/public_ids.py, migration 0007)
public_id_sequences = Table(
    "public_id_sequences",
    metadata,
    Column("table_name", String(64), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
)
