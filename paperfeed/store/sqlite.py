"""Everything SQLite-specific: connection pragmas, sqlite-vec, FTS5 keyword index DDL."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Engine, Table, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

NAME = "sqlite"
insert = sqlite_insert


def configure_engine(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout and the sqlite-vec extension on every connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN be the only transaction control (pysqlite's own is buggy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # e.g. :memory:
        cur.close()
        load_vector_extension(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: no deadlock-by-upgrade between writers.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")


def load_vector_extension(dbapi_conn: sqlite3.Connection) -> bool:
    """Load sqlite-vec into a raw connection; False when the platform cannot."""
    try:
        import sqlite_vec

        dbapi_conn.enable_load_extension(True)
        sqlite_vec.load(dbapi_conn)
        dbapi_conn.enable_load_extension(False)
        return True
    except (ImportError, AttributeError, sqlite3.OperationalError):
        return False


KEYWORD_INDEX_DDL = [
    # External-content FTS5 over papers: the text lives once, in papers. New rows are
    # indexed by insert_papers() one batch at a time (a per-row AFTER INSERT trigger made
    # bulk import 2.3x slower); updates and deletes are followed by triggers.
    """CREATE VIRTUAL TABLE IF NOT EXISTS papers_fts USING fts5(
        title, abstract, authors,
        content='papers', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS papers_fts_ad AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
        VALUES ('delete', old.id, old.title, old.abstract, old.authors_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS papers_fts_au
        AFTER UPDATE OF title, abstract, authors_text ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
        VALUES ('delete', old.id, old.title, old.abstract, old.authors_text);
        INSERT INTO papers_fts(rowid, title, abstract, authors)
        VALUES (new.id, new.title, new.abstract, new.authors_text);
    END""",
]

DROP_KEYWORD_INDEX_DDL = [
    "DROP TRIGGER IF EXISTS papers_fts_au",
    "DROP TRIGGER IF EXISTS papers_fts_ad",
    "DROP TABLE IF EXISTS papers_fts",
]


def _sqlite_value(value: Any) -> Any:
    # The text formats SQLAlchemy's SQLite DATE/DATETIME types store and read back.
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _needs_conversion(column: Any) -> bool:
    return isinstance(column.type, Date | DateTime)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk INSERT through the driver's executemany, skipping SQLAlchemy's per-row
    parameter processing (the bulk-import hot path). Rows must share their keys."""
    if not rows:
        return
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    convert = [i for i, c in enumerate(columns) if _needs_conversion(table.c[c])]
    if not convert:
        conn.exec_driver_sql(sql, [tuple(r.values()) for r in rows])
        return
    params = []
    for r in rows:
        values = list(r.values())
        for i in convert:
            values[i] = _sqlite_value(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


def insert_papers(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert new papers rows, index them for keyword search, return arxiv_id -> id.

    Ids are allocated here: the caller holds SQLite's write lock (BEGIN IMMEDIATE), so
    max(id) cannot move under us. The FTS5 rows are added with one INSERT ... SELECT.
    """
    if not rows:
        return {}
    start = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM papers").scalar_one() + 1
    with_ids = [{"id": start + i, **row} for i, row in enumerate(rows)]
    insert_rows(conn, table, with_ids)
    conn.exec_driver_sql(
        "INSERT INTO papers_fts(rowid, title, abstract, authors) "
        "SELECT id, title, abstract, authors_text FROM papers WHERE id BETWEEN ? AND ?",
        (start, start + len(rows) - 1),
    )
    return {row["arxiv_id"]: row["id"] for row in with_ids}


def insert_authors(conn: Connection, table: Table, names: dict[str, str]) -> dict[str, int]:
    """Insert authors (name_key -> display name) known to be missing; return their ids.

    As for papers, ids are allocated under the write lock, so no read-back is needed.
    """
    start = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM authors").scalar_one() + 1
    ids = {key: start + i for i, key in enumerate(names)}
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} (id, name, name_key) VALUES (?, ?, ?)",
        [(ids[key], name, key) for key, name in names.items()],
    )
    return ids
