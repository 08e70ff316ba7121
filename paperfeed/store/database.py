"""Opening a database: one engine per URL, configured by the dialect module that owns it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url

from . import postgres, sqlite


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
