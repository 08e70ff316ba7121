"""The core schema (SQLAlchemy Core): papers and what hangs off them, ingest checkpoints.

Other areas (search vectors, community, mail) declare their tables in their own schema
modules against the same ``metadata``; every table is created by an Alembic migration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BIGINT on PostgreSQL, but INTEGER on SQLite so that the column is the rowid alias.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always an aware UTC datetime in Python, on both databases.

    PostgreSQL stores timestamptz; SQLite stores text and would hand back naive values,
    which every reader would otherwise have to patch. Aware values are converted to UTC on
    the way in; naive ones are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


TZ = UtcDateTime()

papers = Table(
    "papers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("arxiv_id", String(64), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, server_default=""),
    # Denormalised "A, B, C" for display and the keyword index; paper_authors is the truth.
    Column("authors_text", Text, nullable=False, server_default=""),
    Column("primary_category", String(32)),
    Column("comments", Text),
    Column("journal_ref", Text),
    Column("doi", String(255)),
    Column("license", String(255)),
    Column("submitted_at", TZ),
    Column("updated_at", TZ),
    Column("announced_on", Date),
    Column("latest_version", Integer, nullable=False, server_default="1"),
    Column("source", String(32), nullable=False),
    Column("first_seen_at", TZ, nullable=False),
    Column("content_hash", String(32), nullable=False),
    # Community counters, kept exact by the transaction that changes the rows they count.
    Column("upvotes", Integer, nullable=False, server_default="0"),
    Column("num_comments", Integer, nullable=False, server_default="0"),
    Column("hidden", Boolean, nullable=False, server_default="0"),
    Index("ix_papers_announced_on", "announced_on"),
    Index("ix_papers_primary_category", "primary_category"),
    Index("ix_papers_submitted_at", "submitted_at"),
)

paper_versions = Table(
    "paper_versions",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("submitted_at", TZ),
    Column("size", String(32)),
)

authors = Table(
    "authors",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    # Case- and accent-folded name: one author row per spelling family, for author pages.
    Column("name_key", String(255), nullable=False, unique=True),
)

paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("author_id", Id, ForeignKey("authors.id"), nullable=False),
    Column("affiliation", Text),
    Index("ix_paper_authors_author_id", "author_id", "paper_id"),
)

paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("is_primary", Boolean, nullable=False, server_default="0"),
    Index("ix_paper_categories_category", "category", "paper_id"),
)

paper_links = Table(
    "paper_links",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("url", Text, primary_key=True),
    Column("kind", String(16), nullable=False),  # code | project | data | other
)

paper_signals = Table(
    "paper_signals",
    metadata,
    Column("paper_id", Id, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("value", Text, nullable=False),
    Column("observed_on", Date),
)

ingest_checkpoints = Table(
    "ingest_checkpoints",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),  # e.g. "cs.CV 2025-01-01..2025-02-01"
    Column("cursor", Text, nullable=False),  # next offset / resumptionToken / "done"
    Column("updated_at", TZ, nullable=False),
)
