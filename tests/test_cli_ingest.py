"""`paperfeed ingest ...`: each source from the command line, against the replay server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from paperfeed.cli import main

from .ingest_replay import recorded, store_snapshot
from .replay import Reply


@pytest.fixture
def cli(monkeypatch, db_url):
    monkeypatch.setenv("PAPERFEED_ARXIV_DELAY_SECONDS", "0")
    monkeypatch.setenv("PAPERFEED_HTTP_RETRIES", "0")
    monkeypatch.delenv("PAPERFEED_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["ingest", *args, "--db", db_url], catch_exceptions=False)

    return invoke


def test_ingest_arxiv_reads_listings_and_details(cli, replay, engine):
    replay.add("/rss/quant-ph", Reply(body=recorded("quant-ph.xml")))
    replay.add("/api/query", Reply(body=recorded("atom-details-quant-ph.xml")))
    result = cli("arxiv", "--category", "quant-ph", "--base-url", f"{replay.url}/rss",
                 "--api-url", f"{replay.url}/api/query")
    assert result.exit_code == 0, result.output
    assert "summary: 81 inserted, 0 updated, 0 unchanged, 0 rejected" in result.output
    assert store_snapshot(engine)["2504.17830"].comments == "5 pages, no figures"


def test_ingest_arxiv_api_backfills_a_date_range(cli, replay, engine):
    replay.add("/api/query", Reply(body=recorded("atom-backfill-page1.xml")),
               query_contains="start=0&")
    replay.add("/api/query", Reply(body=recorded("atom-backfill-page2.xml")),
               query_contains="start=5&")
    result = cli("arxiv-api", "--category", "cs.CV", "--from", "2024-01-01", "--until",
                 "2024-01-22", "--page-size", "5", "--api-url", f"{replay.url}/api/query")
    assert result.exit_code == 0, result.output
    assert "summary: 10 inserted" in result.output


def test_ingest_oai_harvests_and_a_rerun_finds_everything_unchanged(cli, replay):
    replay.add("/oai", Reply(body=recorded("oai-listrecords-page2-last.xml")),
               query_contains="resumptionToken")
    replay.add("/oai", Reply(body=recorded("oai-listrecords-page1-with-token.xml")))
    args = ("oai", "--set", "cs", "--from", "2015-01-01", "--until", "2015-01-03",
            "--base-url", f"{replay.url}/oai")
    first = cli(*args)
    assert first.exit_code == 0, first.output
    assert "summary: 3 inserted, 0 updated, 0 unchanged, 0 rejected" in first.output
    second = cli(*args)
    assert "summary: 0 inserted, 0 updated, 3 unchanged, 0 rejected" in second.output


def test_ingest_hf_reads_one_day(cli, replay, engine):
    replay.add("/api/daily_papers", Reply(body=recorded("hf-daily-papers-2025-03-17.json"),
                                          content_type="application/json"))
    result = cli("hf", "--date", "2025-03-17", "--base-url", replay.url)
    assert result.exit_code == 0, result.output
    assert "summary: 2 inserted" in result.output
    assert json.loads(
        next(s.value for s in store_snapshot(engine)["2503.11849"].signals
             if s.kind == "ai_keywords")
    )[0] == "Earth observation"


def test_nothing_readable_exits_non_zero_and_says_why(cli, replay):
    replay.add("/oai", Reply(404, b"gone", content_type="text/plain"))
    result = cli("oai", "--base-url", f"{replay.url}/oai")
    assert result.exit_code == 1
    assert "HTTP 404" in result.output


def test_an_empty_harvest_is_not_a_failure(cli, replay):
    replay.add("/oai", Reply(body=recorded("oai-no-records-match.xml")))
    result = cli("oai", "--set", "cs", "--from", "2030-01-01", "--base-url", f"{replay.url}/oai")
    assert result.exit_code == 0, result.output
    assert "summary: 0 inserted" in result.output
