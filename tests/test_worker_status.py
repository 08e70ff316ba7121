"""`paperfeed worker` runs every job (arXiv listings, catch-up, Hugging Face, index,
channels, outbox, digests) and records how each went; `paperfeed status [--json]` shows
each job's last success, last error and next run."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import func, select

from paperfeed.cli import main
from paperfeed.log_format import JsonFormatter
from paperfeed.mail.schedule import plan_next_run, run_job
from paperfeed.store.schema import papers

from .ingest_replay import recorded
from .replay import Reply
from .test_ingest_catch_up import EMPTY_FEED

JOBS = ["ingest arxiv", "catch-up", "ingest hf", "index", "channels", "outbox", "digests"]


def run_cli(settings, tmp_path, replay, *args: str, code: int = 0) -> str:
    env = {
        "PAPERFEED_ARXIV_RSS_URL": f"{replay.url}/rss",
        "PAPERFEED_ARXIV_API_URL": f"{replay.url}/api/query",
        "PAPERFEED_HF_URL": replay.url,
        "PAPERFEED_CATEGORIES": '["quant-ph"]',
        "PAPERFEED_ARXIV_DELAY_SECONDS": "0", "PAPERFEED_HTTP_RETRIES": "0",
        "PAPERFEED_SMTP_URL": "memory://", "PAPERFEED_EMBEDDING_BACKEND": "hashing",
        "PAPERFEED_SECRET_KEY": settings.secret_key, "PAPERFEED_ENVIRONMENT": "test",
        "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
        "PAPERFEED_CONFIG": str(tmp_path / "none.toml"),
    }
    result = CliRunner().invoke(main, [args[0], "--db", settings.database_url, *args[1:]],
                                env=env)
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def status_json(settings, tmp_path, replay) -> dict[str, dict]:
    rows = json.loads(run_cli(settings, tmp_path, replay, "status", "--json"))
    return {row["name"]: row for row in rows}


def test_status_before_any_worker_run_lists_every_job_as_never(settings, tmp_path, replay):
    jobs = status_json(settings, tmp_path, replay)
    assert list(jobs) == JOBS
    assert all(job["last_success_at"] is None and job["next_run_at"] is None
               for job in jobs.values())
    text = run_cli(settings, tmp_path, replay, "status")
    assert text.count("last success never") == len(JOBS)


def test_worker_once_runs_every_job_and_records_successes_and_errors(
        settings, engine, tmp_path, replay):
    replay.add("/rss/quant-ph", Reply(body=recorded("quant-ph.xml")))
    replay.add("/api/query", Reply(body=EMPTY_FEED), query_contains="submittedDate")
    replay.add("/api/query", Reply(body=recorded("atom-details-quant-ph.xml")),
               query_contains="id_list")
    replay.add("/api/daily_papers", Reply(status=500, body=b"down", content_type="text/plain"))
    before = dt.datetime.now(dt.UTC)
    out = run_cli(settings, tmp_path, replay, "worker", "--once")
    assert "worker: `ingest hf` failed" in out and "catch-up before the listing of" in out
    paths = {entry.path for entry in replay.log}
    assert paths == {"/rss/quant-ph", "/api/query", "/api/daily_papers"}
    # the catch-up asked the arXiv API for the missed days' submission windows
    assert any("submittedDate" in entry.query for entry in replay.log)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() > 0
    jobs = status_json(settings, tmp_path, replay)
    assert list(jobs) == JOBS
    for name in ("ingest arxiv", "catch-up", "index", "channels", "outbox", "digests"):
        job = jobs[name]
        assert job["last_success_at"] is not None, name
        assert dt.datetime.fromisoformat(job["last_success_at"]) >= before
        assert job["last_error"] is None, (name, job["last_error"])
    hf = jobs["ingest hf"]
    assert hf["last_success_at"] is None and "HF daily papers" in hf["last_error"]
    assert hf["last_error_at"] is not None and hf["next_run_at"] is None  # --once plans none
    text = run_cli(settings, tmp_path, replay, "status")
    assert "HF daily papers" in text


def test_a_job_that_fails_after_succeeding_keeps_its_last_success(settings, engine, tmp_path,
                                                                  replay):
    lines: list[str] = []
    assert run_job(engine, "index", lambda: None, lines.append)
    assert not run_job(engine, "index", lambda: 1 / 0, lines.append)
    assert lines == ["worker: `index` failed: ZeroDivisionError: division by zero"]
    assert not run_job(engine, "ingest hf", lambda: sys.exit(3), lines.append)
    index = status_json(settings, tmp_path, replay)["index"]
    assert index["last_success_at"] is not None
    assert index["last_error"] == "ZeroDivisionError: division by zero"
    assert index["last_error_at"] >= index["last_success_at"]
    assert status_json(settings, tmp_path, replay)["ingest hf"]["last_error"] == "exited with 3"


def test_the_next_run_is_recorded_and_an_overdue_one_is_flagged(settings, engine, tmp_path,
                                                                 replay):
    later = dt.datetime(2030, 1, 7, 1, 45, tzinfo=dt.UTC)
    plan_next_run(engine, [("ingest arxiv", lambda: None)], later)
    jobs = status_json(settings, tmp_path, replay)
    assert jobs["ingest arxiv"]["next_run_at"] == later.isoformat()
    assert jobs["digests"]["next_run_at"] == later.isoformat()
    assert "overdue" not in run_cli(settings, tmp_path, replay, "status")
    plan_next_run(engine, [("ingest arxiv", lambda: None)], dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert "overdue" in run_cli(settings, tmp_path, replay, "status")
    plan_next_run(engine, [], None)
    assert status_json(settings, tmp_path, replay)["digests"]["next_run_at"] is None


def test_json_log_format_makes_the_workers_lines_json_records(settings, tmp_path):
    env = {**os.environ, "PAPERFEED_LOG_FORMAT": "json", "PAPERFEED_SMTP_URL": "memory://",
           "PAPERFEED_EMBEDDING_BACKEND": "hashing", "PAPERFEED_ENVIRONMENT": "test",
           "PAPERFEED_SECRET_KEY": settings.secret_key,
           "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
           "PAPERFEED_CONFIG": str(tmp_path / "none.toml")}
    done = subprocess.run(
        [sys.executable, "-m", "paperfeed.cli", "worker", "--once", "--skip-ingest",
         "--db", settings.database_url], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # every line is a JSON record on stderr: the worker's own lines, the index step's
    # summary lines, no progress bars, and no library chatter below warning (alembic)
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert done.stdout == ""
    messages = {r["message"] for r in records if r["logger"] == "paperfeed.worker"}
    assert "worker: no papers yet" in messages
    assert any(m.startswith("index: 0 embedded") for m in messages)
    assert all(r["level"] in ("info", "warning") and dt.datetime.fromisoformat(r["time"]).tzinfo
               for r in records)
    assert not any(r["logger"].startswith("alembic") for r in records)


def test_the_json_formatter_keeps_the_traceback():
    formatter = JsonFormatter()
    try:
        raise ValueError("bad <value>")
    except ValueError:
        record = logging.LogRecord("paperfeed.web", logging.ERROR, __file__, 1,
                                   "search failed for %r", ("q",), sys.exc_info())
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "search failed for 'q'" and entry["level"] == "error"
    assert entry["logger"] == "paperfeed.web" and "ValueError: bad <value>" in entry["exception"]
