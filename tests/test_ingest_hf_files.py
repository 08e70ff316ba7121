"""`paperfeed ingest hf --from-file`: archived daily_papers responses (JSON arrays or JSON
Lines, gzipped or not, a file or a folder), the day from each record or the file name,
malformed records reported and skipped."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import main
from paperfeed.ingest.hf_files import import_daily_files
from paperfeed.store.schema import paper_signals, papers

DATA = Path(__file__).parent / "data" / "ingest"
REAL_DAY = DATA / "hf-daily" / "2026-08-21.json.gz"  # a real reply: 17 papers
DAY_FIXTURE = DATA / "hf-daily-papers-2025-03-17.json"


def signals(engine, kind: str) -> dict[str, tuple[str, dt.date]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(papers.c.arxiv_id, paper_signals.c.value, paper_signals.c.observed_on)
            .join(paper_signals, paper_signals.c.paper_id == papers.c.id)
            .where(paper_signals.c.source == "hf", paper_signals.c.kind == kind)
        ).all()
    return {r.arxiv_id: (r.value, r.observed_on) for r in rows}


def test_a_real_gzipped_reply_lands_with_upvotes_stars_and_its_day(engine):
    summary = import_daily_files(engine, REAL_DAY)
    assert summary.inserted == 17 and summary.rejected == 0
    upvotes = signals(engine, "upvotes")
    assert upvotes["2608.19880"] == ("163", dt.date(2026, 8, 21))
    assert signals(engine, "github_stars")["2608.14022"] == ("76", dt.date(2026, 8, 21))
    again = import_daily_files(engine, REAL_DAY)
    assert again.unchanged == 17 and again.inserted == again.updated == 0


def test_a_folder_of_arrays_and_json_lines_with_malformed_records(engine, tmp_path):
    shutil.copy(REAL_DAY, tmp_path / "2026-08-21.json.gz")
    # No submittedOnDailyAt inside: the day comes from the file name.
    items = json.loads(DAY_FIXTURE.read_text())
    for item in items:
        item["paper"].pop("submittedOnDailyAt", None)
    (tmp_path / "2025-03-18.json").write_text(json.dumps(items))
    lines = [
        json.dumps({"paper": {"id": "2503.20001", "title": "Lines work", "upvotes": 3,
                              "submittedOnDailyAt": "2025-03-19T00:00:00.000Z"}}),
        "{not json",
        json.dumps({"paper": {"title": "no id", "upvotes": 1,
                              "submittedOnDailyAt": "2025-03-19T00:00:00.000Z"}}),
        json.dumps({"paper": {"id": "2503.20002", "title": "No day anywhere"}}),
        "",
    ]
    with gzip.open(tmp_path / "extra.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines))
    (tmp_path / "2025-03-20.json").write_text('[{"paper": {"id": "2503.3')  # truncated
    (tmp_path / "notes.txt").write_text("not an archive file")
    summary = import_daily_files(engine, tmp_path)
    assert summary.inserted == 17 + 2 + 1
    where = {r.position: r.reason for r in summary.rejections}
    assert summary.rejected == 4, where
    assert where["extra.jsonl.gz line 2"].startswith("bad JSON")
    assert "missing id" in where["extra.jsonl.gz line 3"]
    assert where["extra.jsonl.gz line 4"].startswith("no day")
    assert "unreadable" in where["2025-03-20.json"]
    upvotes = signals(engine, "upvotes")
    assert upvotes["2503.11849"] == ("42", dt.date(2025, 3, 18))  # from the file name
    assert upvotes["2503.20001"] == ("3", dt.date(2025, 3, 19))  # from the record


def test_the_command_imports_a_file_and_reports(engine, db_url, monkeypatch):
    monkeypatch.delenv("PAPERFEED_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", "hf", "--from-file", str(REAL_DAY), "--db", db_url],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "17 inserted" in result.output
    missing = runner.invoke(main, ["ingest", "hf", "--from-file", "/no/such/dir", "--db", db_url])
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_the_bundled_demo_slice_imports_cleanly(engine):
    from importlib import resources

    bundled = resources.files("paperfeed") / "data" / "demo-hf-daily.jsonl.gz"
    with resources.as_file(bundled) as path:
        summary = import_daily_files(engine, path)
    assert summary.rejected == 0 and summary.read == 619  # 2 papers were featured twice
    days = {day for _, day in signals(engine, "upvotes").values()}
    assert min(days) == dt.date(2026, 7, 10) and max(days) == dt.date(2026, 8, 21)
