"""The mail CLI: `subscribers add|list|remove|import`, `digest send` (dry run, --to,
idempotent), `worker --once`, and the worker's arXiv announcement timetable."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import main
from paperfeed.mail.messages import default_mailer
from paperfeed.mail.schedule import listing_day, next_announcement, weekly_periods_due
from paperfeed.store.mail_schema import digest_sends, subscriptions

from .mail_corpus import DAY1, add_corpus, mail_settings

ET = ZoneInfo("America/New_York")


@pytest.fixture
def cli(settings, engine, tmp_path):
    add_corpus(engine)
    env = {"PAPERFEED_SMTP_URL": "memory://", "PAPERFEED_EMBEDDING_BACKEND": "hashing",
           "PAPERFEED_SECRET_KEY": settings.secret_key, "PAPERFEED_ENVIRONMENT": "test",
           "PAPERFEED_CACHE_DIR": str(tmp_path / "cache"),
           "PAPERFEED_CONFIG": str(tmp_path / "none.toml")}
    mailer = default_mailer(mail_settings(settings, "memory://"))
    mailer.messages.clear()  # type: ignore[attr-defined]
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, [*args[:2], "--db", settings.database_url, *args[2:]]
                               if args[0] in ("subscribers", "digest") else
                               [args[0], "--db", settings.database_url, *args[1:]], env=env)
        assert result.exit_code == code, result.output + repr(result.exception)
        return result.output

    return run, mailer


def test_subscribers_add_list_import_remove(cli, engine, tmp_path):
    run, mailer = cli
    out = run("subscribers", "add", "Ada@Example.org", "--interest", "long context attention",
              "--interest", "protein structure", "--frequency", "weekly", "--confirmed")
    assert "ada@example.org: active (weekly, both)" in out and not mailer.messages
    out = run("subscribers", "add", "new@example.org", "--interest", "speech")
    assert "pending: confirmation email sent" in out
    assert [m["To"] for m in mailer.messages] == ["new@example.org"]
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("email,interests,frequency,content,papers\n"
                        "one@example.org,graph neural networks;molecules,daily,personal,5\n"
                        "not an email,,,,\n"
                        "two@example.org,,weekly,trending,\n", encoding="utf-8")
    out = run("subscribers", "import", str(csv_file))
    assert "imported 2 subscriber(s), rejected 1" in out and len(mailer.messages) == 1
    listed = [json.loads(line) for line in run("subscribers", "list", "--json").splitlines()]
    by_email = {row["email"]: row for row in listed}
    assert by_email["one@example.org"]["interests"] == ["graph neural networks", "molecules"]
    assert by_email["one@example.org"]["status"] == "active"
    assert by_email["new@example.org"]["status"] == "pending"
    out = run("subscribers", "remove", "two@example.org", "nobody@example.org")
    assert "two@example.org: removed" in out and "nobody@example.org: not subscribed" in out
    with engine.connect() as conn:
        assert conn.execute(select(subscriptions.c.email).where(
            subscriptions.c.email == "two@example.org")).first() is None


def test_digest_send_dry_run_then_send_then_nothing(cli, engine):
    run, mailer = cli
    run("subscribers", "add", "ada@example.org", "--interest", "long context attention",
        "--confirmed")
    out = run("digest", "send", "--date", DAY1.isoformat(), "--dry-run", "--to", "ada@example.org")
    assert "daily:2026-08-13: 8 papers, 1 digests would be sent" in out
    assert "matches your saved search ‘long context attention’" in out and not mailer.messages
    with engine.connect() as conn:
        assert conn.execute(select(digest_sends)).first() is None  # dry run records nothing
    out = run("digest", "send", "--date", DAY1.isoformat(), "--json")
    assert json.loads(out)["sent"] == 1 and len(mailer.messages) == 1
    out = run("digest", "send", "--date", DAY1.isoformat())
    assert "nothing sent (already sent)" in out and len(mailer.messages) == 1
    out = run("digest", "send", "--date", "2026-08-15")
    assert "nothing sent (no new papers in this period)" in out


def test_worker_once_sends_the_newest_day(cli):
    run, mailer = cli
    run("subscribers", "add", "ada@example.org", "--interest", "protein structure", "--confirmed")
    out = run("worker", "--once", "--skip-ingest")
    assert "daily:2026-08-14: 1 sent" in out
    assert [m["To"] for m in mailer.messages] == ["ada@example.org"]
    assert "daily:2026-08-14: 0 sent (already sent)" in run("worker", "--once", "--skip-ingest")


def test_announcement_timetable():
    thursday_noon = dt.datetime(2026, 8, 13, 12, 0, tzinfo=ET)
    at = next_announcement(thursday_noon, 45)
    assert at == dt.datetime(2026, 8, 13, 20, 45, tzinfo=ET) and (
        listing_day(at) == dt.date(2026, 8, 14)
    )
    friday_night = dt.datetime(2026, 8, 14, 21, 0, tzinfo=ET)  # no mailing Fri/Sat
    assert next_announcement(friday_night).date() == dt.date(2026, 8, 16)
    assert listing_day(next_announcement(friday_night)) == dt.date(2026, 8, 17)  # Monday
    assert next_announcement(
        dt.datetime(2026, 8, 16, 20, 0, tzinfo=ET)
    ).date() == dt.date(2026, 8, 17)
    assert weekly_periods_due(dt.date(2026, 8, 14)) == [dt.date(2026, 8, 9), dt.date(2026, 8, 14)]
    assert weekly_periods_due(dt.date(2026, 8, 17)) == [dt.date(2026, 8, 16)]
