"""Everything PostgreSQL-specific: connection setup, full-text search DDL, pgvector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

NAME = "postgresql"
insert = pg_insert


def configure_engine(engine: Engine) -> None:
    """Nothing to set per connection beyond psycopg's defaults; kept for symmetry with
    sqlite.configure_engine (vectors are bound as text by index/postgres_vector.py)."""


KEYWORD_INDEX_DDL = [
    # Weighted tsvector kept in sync by PostgreSQL itself: title A, authors B, abstract C.
    """ALTER TABLE papers ADD COLUMN IF NOT EXISTS search_tsv tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
            setweight(to_tsvector('simple', coalesce(authors_text, '')), 'B') ||
            setweight(to_tsvector('english', coalesce(abstract, '')), 'C')
        ) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_papers_search_tsv ON papers USING gin (search_tsv)",
]

DROP_KEYWORD_INDEX_DDL = [
    "DROP INDEX IF EXISTS ix_papers_search_tsv",
    "ALTER TABLE papers DROP COLUMN IF EXISTS search_tsv",
]


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk INSERT (psycopg 3 pipelines executemany)."""
    if rows:
        conn.execute(table.insert(), list(rows))


def insert_papers(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert new papers rows and return arxiv_id -> id; the tsvector column indexes them."""
    if not rows:
        return {}
    result = conn.execute(
        table.insert().returning(table.c.id, table.c.arxiv_id, sort_by_parameter_order=True),
        list(rows),
    )
    return {row.arxiv_id: row.id for row in result}


def hold_advisory_lock(conn: Any, key: int) -> None:
    """Take a session-level advisory lock on ``key`` (held until the connection closes)."""
    from sqlalchemy import text

    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    conn.commit()


def advisory_lock_is_free(conn: Any, key: int) -> bool:
    """Whether no session holds the advisory lock ``key`` (probe: take it, release it)."""
    from sqlalchemy import text

    got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
    if got:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    return got


def release_advisory_lock(conn: Any, key: int) -> None:
    """Release a session-level advisory lock taken by :func:`hold_advisory_lock`."""
    from sqlalchemy import text

    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    conn.commit()


def insert_authors(conn: Connection, table: Table, names: dict[str, str]) -> dict[str, int]:
    """Insert authors (name_key -> display name) and return the ids of all of them; a
    concurrent importer may have added some meanwhile, so conflicts are read back."""
    keys = list(names)
    stmt = insert(table).on_conflict_do_nothing(index_elements=["name_key"])
    conn.execute(stmt, [{"name": names[k], "name_key": k} for k in keys])
    ids: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        rows = conn.execute(
            select(table.c.id, table.c.name_key).where(table.c.name_key.in_(chunk))
        )
        ids.update({row.name_key: row.id for row in rows})
    return ids
