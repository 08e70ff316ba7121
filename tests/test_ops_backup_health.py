"""Operations: /healthz and /readyz; `paperfeed backup` during a running import and
`paperfeed restore` into a new database round-trip with equal counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from paperfeed.app import create_app
from paperfeed.cli import main
from paperfeed.config import Settings
from paperfeed.store.backup import BackupError, backup_database, integrity_check, restore_database
from paperfeed.store.database import open_engine
from paperfeed.store.stats import collect_stats


def synthetic_corpus(path: Path, n: int) -> Path:
    """``n`` papers in the listing schema (made up, so the import takes a few seconds)."""
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({
                "id": f"2501.{i:05d}", "title": f"Paper number {i} on topic {i % 97}",
                "summary": f"We study topic {i % 97} with method {i % 13}. " * 4,
                "authors": [f"Author {i % 500}", f"Coauthor {i % 71}"],
                "categories": ["cs.CV" if i % 2 else "cs.CL"],
                "listing_date": f"2025-01-{1 + i % 28:02d}",
            }) + "\n")
    return path


def stats_of(url: str) -> dict[str, object]:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return collect_stats(conn)
    finally:
        engine.dispose()


def new_database_url(db_url: str, tmp_path: Path) -> str:
    """A second, empty database next to the test's own."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    import psycopg

    base, _, query = db_url.partition("?")
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = f"{base.rsplit('/', 1)[0]}/postgres?{query}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def test_healthz_and_readyz(settings: Settings, engine: Engine) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ok"}
        loading = threading.Event()
        app.state.warm_up = threading.Thread(target=loading.wait, daemon=True)
        app.state.warm_up.start()
        busy = client.get("/readyz")
        assert busy.status_code == 503 and busy.json()["reasons"] == ["search index loading"]
        loading.set()
        app.state.warm_up.join()
        assert client.get("/readyz").status_code == 200
    app.state.engine.dispose()


def test_readyz_reports_pending_migrations(settings: Settings, tmp_path: Path) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("an unmigrated database is simplest to make on SQLite")
    fresh = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.db'}"})
    app = create_app(fresh)
    with TestClient(app) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["reasons"][0].startswith("migrations pending")
        assert client.get("/healthz").status_code == 200
    app.state.engine.dispose()


def test_backup_and_restore_round_trip(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    from paperfeed.ingest.bulk import import_file

    import_file(engine, synthetic_corpus(tmp_path / "c.jsonl", 300), background=False)
    out = tmp_path / "snap.backup"
    result = backup_database(settings.database_url, out)
    assert result.bytes > 0
    with pytest.raises(BackupError, match="exists"):
        backup_database(settings.database_url, out)
    target = new_database_url(settings.database_url, tmp_path)
    restore_database(out, target)
    assert stats_of(target) == stats_of(settings.database_url)
    assert stats_of(target)["papers"] == 300
    with pytest.raises(BackupError, match="not empty"):
        restore_database(out, target)


@pytest.mark.slow
def test_backup_during_a_running_import_is_consistent(settings: Settings, engine: Engine,
                                                      tmp_path: Path) -> None:
    corpus = synthetic_corpus(tmp_path / "big.jsonl", 20_000)
    env = dict(os.environ, PAPERFEED_ENVIRONMENT="test", PAPERFEED_CONFIG="/nonexistent.toml",
               PAPERFEED_SECRET_KEY=settings.secret_key, PAPERFEED_CACHE_DIR=settings.cache_dir)
    importer = subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "import", "--db", settings.database_url,
         "--batch-size", "500", str(corpus)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the import is under way
        with engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM papers")).scalar_one() > 0:
                break
        time.sleep(0.05)
    out = tmp_path / "during.backup"
    runner = CliRunner()
    taken = runner.invoke(main, ["backup", "--db", settings.database_url, str(out)], env=env)
    assert taken.exit_code == 0, taken.output
    importer.communicate(timeout=300)
    assert importer.returncode == 0
    target = new_database_url(settings.database_url, tmp_path)
    restored = runner.invoke(main, ["restore", "--db", target, str(out)], env=env)
    assert restored.exit_code == 0, restored.output
    snapshot = stats_of(target)
    assert 0 < int(snapshot["papers"]) <= 20_000  # type: ignore[call-overload]
    if settings.database_url.startswith("sqlite"):
        assert integrity_check(out) == "ok"
        assert stats_of(f"sqlite:///{out}") == snapshot  # the snapshot file is a database
        assert integrity_check(Path(target.removeprefix("sqlite:///"))) == "ok"
    # Whole batches only: a snapshot is one commit's state, and each batch commits its
    # papers together with their authors and categories.
    check = open_engine(target)
    with check.connect() as conn:
        orphans = conn.execute(text(
            "SELECT count(*) FROM papers p WHERE NOT EXISTS "
            "(SELECT 1 FROM paper_categories c WHERE c.paper_id = p.id)")).scalar_one()
    check.dispose()
    assert orphans == 0
    # The full database after the import is intact and complete.
    assert stats_of(settings.database_url)["papers"] == 20_000


def test_restore_refuses_what_is_not_a_backup(settings: Settings, tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-backup"
    bogus.write_text("hello")
    with pytest.raises(BackupError, match="not a"):
        restore_database(bogus, new_database_url(settings.database_url, tmp_path))
