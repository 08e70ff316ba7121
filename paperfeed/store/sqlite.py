"""Everything SQLite-specific: connection pragmas, sqlite-vec, bulk writes that keep the FTS5
keyword index (``papers_fts``, created by migration 0001_core) up to date, no advisory locks.

One implementation of store.database.Dialect (the module itself is the object)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

NAME = "sqlite"
insert = sqlite_insert
# A write transaction holds the one write lock of the whole file (BEGIN IMMEDIATE).
ROW_LOCKS = False


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
        # Only takes effect when the file is created: papers rows are ~2 KB (the abstract),
        # and 8 KB pages hold them with less slack than 4 KB ones (bulk import writes
        # ~25% fewer pages and its commits take ~25% less time).
        cur.execute("PRAGMA page_size=8192")
        with contextlib.suppress(sqlite3.OperationalError):  # e.g. :memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()
        load_vector_extension(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: no deadlock-by-upgrade between writers.
        if conn.info.get("write"):  # FULL fsyncs at commit (see write_transaction)
            level = "FULL" if conn.info.get("durable") else "NORMAL"
            conn.exec_driver_sql(f"PRAGMA synchronous={level}")
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


def bind_time(value: Any) -> Any:
    """A date or datetime as the text SQLAlchemy's SQLite DATE / DATETIME types store and
    read back (datetimes in UTC, naive ones taken to be UTC); anything else unchanged."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def read_time(value: Any) -> Any:
    """The inverse of :func:`bind_time`: the date, or the aware UTC datetime, it stored."""
    if not isinstance(value, str):
        return value
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


def find_papers(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """arxiv_id -> (id, content_hash) of those of ``arxiv_ids`` already stored (one query)."""
    if not arxiv_ids:
        return {}
    rows = conn.exec_driver_sql(
        "SELECT p.arxiv_id, p.id, p.content_hash FROM json_each(?) AS j "
        "JOIN papers AS p ON p.arxiv_id = j.value",
        (json.dumps(list(arxiv_ids)),),
    )
    return {arxiv_id: (pid, digest) for arxiv_id, pid, digest in rows}


def find_authors(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """name_key -> authors.id of those of ``keys`` already stored (one query)."""
    if not keys:
        return {}
    rows = conn.exec_driver_sql(
        "SELECT a.name_key, a.id FROM json_each(?) AS j JOIN authors AS a ON a.name_key = j.value",
        (json.dumps(list(keys)),),
    )
    return {key: aid for key, aid in rows}


def insert_tuples(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Bulk INSERT of ready-made tuples (values already as bind_time() gives them)
    through the driver's executemany: no per-row work in Python."""
    if rows:
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows,
        )


# A bigger in-memory buffer of pending FTS5 terms: FTS5 writes one segment per buffer
# flush and merges them as they pile up; with the default 1 MB, a 5,000-paper batch became
# several segments and the merging cost as much as the tokenising (bulk import, issue 2).
FTS_HASHSIZE = 16 * 1024 * 1024


def insert_papers(
    conn: Connection, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], now: dt.datetime
) -> list[int]:
    """Insert new papers rows (``columns`` order, without id and first_seen_at), index them
    for keyword search, and return their ids in order.

    Ids are allocated here: the caller holds SQLite's write lock (BEGIN IMMEDIATE), so
    max(id) cannot move under us. The FTS5 rows are added with one INSERT ... SELECT.
    """
    if not rows:
        return []
    _ensure_fts_hashsize(conn)
    start = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM papers").scalar_one() + 1
    seen = bind_time(now)
    insert_tuples(
        conn,
        "papers",
        ["id", "first_seen_at", *columns],
        [(start + i, seen, *row) for i, row in enumerate(rows)],
    )
    end = start + len(rows) - 1
    conn.exec_driver_sql(
        "INSERT INTO papers_fts(rowid, title, abstract, authors) "
        "SELECT id, title, abstract, authors_text FROM papers WHERE id BETWEEN ? AND ?",
        (start, end),
    )
    return list(range(start, end + 1))


def _ensure_fts_hashsize(conn: Connection) -> None:
    # A persistent FTS5 setting (papers_fts_config); written once per database.
    current = conn.exec_driver_sql(
        "SELECT v FROM papers_fts_config WHERE k = 'hashsize'"
    ).scalar()
    if current != FTS_HASHSIZE:
        conn.exec_driver_sql(
            "INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', ?)", (FTS_HASHSIZE,)
        )


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


# SQLite has no advisory locks: an SQLite file is shared by processes of one host, whose
# liveness the caller checks by process id instead.
def hold_advisory_lock(conn: Connection, key: int) -> None:
    """Nothing to hold on SQLite (see :func:`advisory_lock_held`)."""


def release_advisory_lock(conn: Connection, key: int) -> None:
    """Nothing to release on SQLite."""


def advisory_lock_held(conn: Connection, key: int) -> bool | None:
    """None: SQLite cannot tell; the caller checks the owner's process id."""
    return None
