"""Everything PostgreSQL-specific below the search index: connection setup, COPY bulk writes,
advisory locks. (The tsvector column is created by migration 0001_core; pgvector lives with
the search index, index/postgres_vector.py.)

One implementation of store.database.Dialect (the module itself is the object)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

NAME = "postgresql"
insert = pg_insert
# A write transaction locks only the rows it wrote: others keep writing meanwhile.
ROW_LOCKS = True


def configure_engine(engine: Engine) -> None:
    """Nothing to set per connection beyond psycopg's defaults; kept for symmetry with
    sqlite.configure_engine (vectors are bound as text by index/postgres_vector.py)."""


def bind_time(value: Any) -> Any:
    """Dates and aware datetimes go to psycopg as they are; a naive datetime is taken to be
    UTC (as the UtcDateTime column type does), not the session's time zone."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def read_time(value: Any) -> Any:
    """The inverse of :func:`bind_time` (nothing to undo on PostgreSQL)."""
    return value


def find_papers(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """arxiv_id -> (id, content_hash) of those of ``arxiv_ids`` already stored (one query)."""
    if not arxiv_ids:
        return {}
    rows = conn.exec_driver_sql(
        "SELECT arxiv_id, id, content_hash FROM papers WHERE arxiv_id = ANY(%s)",
        (list(arxiv_ids),),
    )
    return {arxiv_id: (pid, digest) for arxiv_id, pid, digest in rows}


def find_authors(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """name_key -> authors.id of those of ``keys`` already stored (one query)."""
    if not keys:
        return {}
    rows = conn.exec_driver_sql(
        "SELECT name_key, id FROM authors WHERE name_key = ANY(%s)", (list(keys),)
    )
    return {key: aid for key, aid in rows}


def insert_tuples(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Bulk INSERT of ready-made tuples with COPY (far fewer round trips and much less
    per-row work than INSERT); statement-level triggers still fire, once."""
    if not rows:
        return
    driver = conn.connection.driver_connection
    assert driver is not None, "COPY needs a live psycopg connection"
    cursor = driver.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_papers(
    conn: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], now: dt.datetime
) -> list[int]:
    """Insert new papers rows (``columns`` order, without id and first_seen_at) and return
    their ids in order; the generated tsvector column indexes them for keyword search."""
    if not rows:
        return []
    ids = [
        pid
        for (pid,) in conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('papers', 'id')) "
            "FROM generate_series(1, %s) ORDER BY 1",
            (len(rows),),
        )
    ]
    seen = bind_time(now)
    insert_tuples(
        conn, "papers", ["id", "first_seen_at", *columns],
        [(pid, seen, *row) for pid, row in zip(ids, rows, strict=True)],
    )
    return ids


def hold_advisory_lock(conn: Connection, key: int) -> None:
    """Take a session-level advisory lock on ``key`` (held until the connection closes)."""
    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    conn.commit()


def advisory_lock_held(conn: Connection, key: int) -> bool | None:
    """Whether some session holds the advisory lock ``key`` (probe: take it, release it)."""
    got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
    if got:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    return not got


def release_advisory_lock(conn: Connection, key: int) -> None:
    """Release a session-level advisory lock taken by :func:`hold_advisory_lock`."""
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    conn.commit()


def insert_authors(conn: Connection, table: Table, names: dict[str, str]) -> dict[str, int]:
    """Insert authors (name_key -> display name) and return the ids of all of them; a
    concurrent importer may have added some meanwhile, so conflicts are read back."""
    keys = list(names)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} (name, name_key) "
        "SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT (name_key) DO NOTHING",
        ([names[k] for k in keys], keys),
    )
    return find_authors(conn, keys)
