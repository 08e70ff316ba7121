"""Opening a database: one engine per URL, configured by the dialect module that owns it;
and ``dialect(conn)``, the one seam through which store/ and index/ reach dialect-specific
SQL (store/sqlite.py and store/postgres.py are its two implementations)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, create_engine
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.engine import make_url

from . import postgres, sqlite

# INSERT with ON CONFLICT DO NOTHING / DO UPDATE, which both dialects spell the same way.
ConflictInsert = SqliteInsert | PostgresInsert


class Dialect(Protocol):
    """What differs between SQLite and PostgreSQL below the search index: implemented by
    the modules store/sqlite.py and store/postgres.py, handed out by :func:`dialect`."""

    @property
    def NAME(self) -> str:
        """The SQLAlchemy dialect name: "sqlite" or "postgresql"."""
        ...

    @property
    def ROW_LOCKS(self) -> bool:
        """Whether a write transaction locks only the rows it wrote (PostgreSQL), not the
        whole database (SQLite): only then may one stay open while something outside the
        database (an SMTP server) is waited for."""
        ...

    def insert(self, table: Table) -> ConflictInsert:
        """An INSERT into ``table`` that supports ``on_conflict_do_nothing/_update``."""
        ...

    def configure_engine(self, engine: Engine) -> None:
        """Per-connection settings of a new engine."""
        ...

    def bind_time(self, value: Any) -> Any:
        """A date or datetime as the raw value this database stores for it."""
        ...

    def read_time(self, value: Any) -> Any:
        """The inverse of :meth:`bind_time`."""
        ...

    def find_papers(self, conn: Connection,
                    arxiv_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """arxiv_id -> (id, content_hash) of those already stored."""
        ...

    def find_authors(self, conn: Connection, keys: Sequence[str]) -> dict[str, int]:
        """name_key -> authors.id of those already stored."""
        ...

    def insert_tuples(self, conn: Connection, table: str, columns: Sequence[str],
                      rows: Sequence[Sequence[Any]]) -> None:
        """Bulk INSERT of ready-made tuples by the fastest path the database has."""
        ...

    def insert_papers(self, conn: Connection, columns: Sequence[str],
                      rows: Sequence[tuple[Any, ...]], now: dt.datetime) -> list[int]:
        """Insert new papers rows, index them for keyword search, return their ids."""
        ...

    def insert_authors(self, conn: Connection, table: Table,
                       names: dict[str, str]) -> dict[str, int]:
        """Insert missing authors (name_key -> name); return their ids."""
        ...

    def hold_advisory_lock(self, conn: Connection, key: int) -> None:
        """Hold a lock on ``key`` for as long as ``conn`` stays open (no-op without one)."""
        ...

    def release_advisory_lock(self, conn: Connection, key: int) -> None:
        """Release a lock taken by :meth:`hold_advisory_lock`."""
        ...

    def advisory_lock_held(self, conn: Connection, key: int) -> bool | None:
        """Whether some session holds the lock ``key``; None when the database has no
        such locks (the caller decides another way)."""
        ...


def dialect(conn: Connection) -> Dialect:
    """The dialect-specific SQL for ``conn``'s database."""
    return postgres if conn.dialect.name == "postgresql" else sqlite


def is_postgres_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def open_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (sqlite:///path or postgresql://...), ready to use.

    SQLite files get their parent directory created; both dialects get their connection
    settings (WAL and foreign keys on SQLite, psycopg 3 on PostgreSQL).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo)
        sqlite.configure_engine(engine)
        return engine
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, echo=echo, pool_pre_ping=True)
        postgres.configure_engine(engine)
        return engine
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///... or postgresql://...")


@contextmanager
def write_transaction(engine: Engine, *, durable: bool = False) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN
    (BEGIN IMMEDIATE), so two writers queue on busy_timeout instead of deadlocking.

    SQLite commits with ``synchronous=NORMAL`` (WAL): a power cut can lose the last
    commits, never corrupt the file. ``durable=True`` commits with ``synchronous=FULL``
    (fsync at every commit) for records that must survive a crash, such as the mail
    ledger's "this digest was sent" (losing it means mailing it twice). PostgreSQL
    always syncs at commit."""
    with engine.connect() as conn:
        conn.info["write"] = True
        conn.info["durable"] = durable
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info.pop("write", None)
            conn.info.pop("durable", None)


def database_key(engine: Engine) -> str:
    """A digest naming ``engine``'s database for caches (in memory and on disk), made from
    its URL without the password, so no cache key or cache file ever holds the password."""
    import hashlib

    safe = engine.url.set(password=None).render_as_string(hide_password=True)
    return hashlib.blake2b(safe.encode(), digest_size=16).hexdigest()
