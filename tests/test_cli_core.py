"""The core CLI: init, import, stats, settings — through the real `paperfeed` entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperfeed.cli import main

DATA = Path(__file__).parent / "data" / "bulk"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_init_creates_then_upgrades_idempotently(empty_db_url: str) -> None:
    code, out = run("init", "--db", empty_db_url)
    assert code == 0 and "database ready" in out
    code, out = run("init", "--db", empty_db_url)
    assert code == 0 and "database ready" in out


def test_import_prints_a_summary_and_stats_counts_papers(db_url: str) -> None:
    code, out = run("import", "--db", db_url, str(DATA / "listing-sample.jsonl"))
    assert code == 0
    assert "summary: 300 inserted, 0 updated, 0 unchanged, 0 rejected" in out
    code, out = run("import", "--db", db_url, str(DATA / "listing-sample.jsonl"))
    assert "summary: 0 inserted, 0 updated, 300 unchanged, 0 rejected" in out
    code, out = run("stats", "--db", db_url, "--json")
    data = json.loads(out)
    assert data["papers"] == 300
    assert data["by_source"] == {"bulk": 300}
    assert data["newest_day"] == "2025-03-18"
    assert sum(data["by_day"].values()) == 300


def test_import_fails_only_when_nothing_could_be_read(db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{nope\n[1]\n")
    code, out = run("import", "--db", db_url, str(junk))
    assert code == 1
    assert "2 rejected" in out
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("{nope\n" + (DATA / "listing-sample.jsonl").read_text().splitlines()[0] + "\n")
    code, out = run("import", "--db", db_url, str(mixed))
    assert code == 0 and "1 inserted" in out and "1 rejected" in out
    code, out = run("import", "--db", db_url, str(tmp_path / "missing.jsonl"))
    assert code == 1 and "no such file" in out


def test_settings_lists_every_environment_variable() -> None:
    code, out = run("settings", "--markdown")
    assert code == 0
    assert "PAPERFEED_DATABASE_URL" in out and "PAPERFEED_SECRET_KEY" in out


def test_settings_takes_db_and_config_and_checks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_CONFIG", str(tmp_path / "none.toml"))  # restored afterwards
    bad = tmp_path / "bad.toml"
    bad.write_text('embedding_backend = "nope"\n')
    result = CliRunner().invoke(main, ["settings", "--config", str(bad)])
    assert result.exit_code == 1 and "embedding_backend" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text('site_name = "Lab papers"\n')
    code, out = run("settings", "--config", str(good), "--db", "sqlite:///x.db")
    assert code == 0 and " value " in out  # the column of values in effect
