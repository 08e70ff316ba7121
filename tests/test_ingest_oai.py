"""OAI-PMH ListRecords in the arXiv format: records, 503 retry, token paging, resuming."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest

from paperfeed.ingest.oai import OaiError, harvest, parse_list_records
from paperfeed.ingest.upstream import ManualClock
from paperfeed.models import Author, Link, Paper

from .ingest_replay import (
    checkpoints,
    nock_replies,
    polite_client,
    recorded,
    store_snapshot,
)
from .replay import Reply

REAL = "listrecords-should-list-identifiers-from-arxiv-1-200.xml"
PAGE1, PAGE2 = "oai-listrecords-page1-with-token.xml", "oai-listrecords-page2-last.xml"
KEY = ("oai", "cs 2015-01-01..2015-01-03")


def run_harvest(engine, replay, clock=None):
    with polite_client(clock) as client:
        return harvest(
            engine, client, oai_url=f"{replay.url}/oai2", set_spec="cs",
            first_day=dt.date(2015, 1, 1), last_day=dt.date(2015, 1, 3),
        )


def serve_two_pages(replay, second: Reply | None = None) -> None:
    replay.add("/oai2", second or Reply(body=recorded(PAGE2)), query_contains="resumptionToken")
    replay.add("/oai2", Reply(body=recorded(PAGE1)), query_contains="metadataPrefix=arXiv")


def test_the_recorded_list_records_reply_parses_into_complete_papers():
    page = parse_list_records(recorded(REAL))
    assert page.token == ""
    ks, planck = page.items
    assert isinstance(ks, Paper) and isinstance(planck, Paper)
    assert ks.arxiv_id == "1412.8544"
    assert ks.title == "A Kochen-Specker system has at least 22 vectors (extended abstract)"
    assert ks.authors == [
        Author("Sander Uijlen", "Radboud Universiteit"),
        Author("Bas Westerbaan", "Radboud Universiteit"),
    ]
    assert ks.categories == ["cs.DM"] and ks.primary_category == "cs.DM"
    assert ks.comments == "In Proceedings QPL 2014, arXiv:1412.8102"
    assert ks.journal_ref == "EPTCS 172, 2014, pp. 154-164"
    assert ks.doi == "10.4204/EPTCS.172.11"
    assert ks.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert ks.submitted_at == dt.datetime(2014, 12, 29, tzinfo=dt.UTC)
    assert ks.abstract.startswith("At the heart of the Conway-Kochen Free Will theorem")
    assert ks.abstract.endswith("improve the lower bound to 22.")
    assert "\n" not in ks.abstract
    assert planck.arxiv_id == "hep-th/9504118"  # old-style id kept
    assert planck.authors == [Author("M. Requardt")]
    assert "'{\\it cellular network}'" in planck.abstract  # LaTeX kept as written
    assert '"strength"' in planck.abstract  # &quot; decoded


def test_the_real_503_with_retry_after_is_honoured_then_the_records_land(engine, replay):
    replay.add("/oai2", *nock_replies("nock-listrecords-with-503-retry.json"))
    clock = ManualClock()
    summary = run_harvest(engine, replay, clock)
    assert len(replay.log) == 2
    assert 10.0 in clock.sleeps
    assert summary.as_dict() == {"inserted": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert set(store_snapshot(engine)) == {"1412.8544", "hep-th/9504118"}


def test_the_first_request_names_prefix_set_and_days(engine, replay):
    replay.add("/oai2", Reply(body=recorded(REAL)))
    run_harvest(engine, replay)
    query = parse_qs(replay.log[0].query)
    assert query == {
        "verb": ["ListRecords"], "metadataPrefix": ["arXiv"], "set": ["cs"],
        "from": ["2015-01-01"], "until": ["2015-01-03"],
    }
    assert replay.log[0].headers["User-Agent"].startswith("paperfeed-tests/")


def test_a_resumption_token_is_followed_to_the_last_page(engine, replay):
    serve_two_pages(replay)
    summary = run_harvest(engine, replay)
    assert summary.as_dict() == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    second = parse_qs(replay.log[1].query)
    assert second == {"verb": ["ListRecords"], "resumptionToken": ["6960524|1001"]}
    assert len(replay.log) == 2
    assert checkpoints(engine) == {}


def test_the_hand_made_page_keeps_suffixes_affiliations_and_only_arxiv_categories():
    page = parse_list_records(recorded(PAGE2))
    assert page.deleted == 1 and page.token == "" and page.complete_size == 4
    (paper,) = page.items
    assert isinstance(paper, Paper)
    assert paper.authors == [
        Author("Martin Luther King Jr", "University A; Institute B"), Author("Emmy Noether")
    ]
    assert paper.title == "Sparse codes for $\\ell_1$ recovery"
    assert paper.categories == ["cs.IT", "math.IT"] and paper.primary_category == "cs.IT"
    assert paper.updated_at == dt.datetime(2015, 1, 2, tzinfo=dt.UTC)
    assert paper.links == [Link("https://github.com/example/l1-codes", "code")]


def test_harvesting_twice_changes_nothing(engine, replay):
    serve_two_pages(replay)
    run_harvest(engine, replay)
    before = store_snapshot(engine)
    again = run_harvest(engine, replay)
    assert again.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert store_snapshot(engine) == before


def test_a_harvest_stopped_on_page_two_resumes_from_the_saved_token(
    engine, other_engine, replay
):
    serve_two_pages(replay, Reply(500, b"Internal Server Error", content_type="text/plain"))
    stopped = run_harvest(engine, replay)
    assert stopped.inserted == 2 and len(stopped.errors) == 1
    assert "page 2" in stopped.errors[0]
    assert checkpoints(engine) == {KEY: "6960524|1001"}

    replay.routes.clear()
    replay.log.clear()
    serve_two_pages(replay)
    resumed = run_harvest(engine, replay)
    assert [parse_qs(e.query).get("resumptionToken") for e in replay.log] == [["6960524|1001"]]
    assert resumed.inserted == 1 and not resumed.errors
    assert checkpoints(engine) == {}

    serve_two_pages(replay)
    run_harvest(other_engine, replay)
    assert store_snapshot(other_engine) == store_snapshot(engine)


def test_no_records_match_is_an_empty_harvest_not_an_error(engine, replay):
    replay.add("/oai2", Reply(body=recorded("oai-no-records-match.xml")))
    summary = run_harvest(engine, replay)
    assert summary.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    assert summary.errors == []


def test_an_expired_token_is_reported_and_the_next_run_starts_over(engine, replay):
    serve_two_pages(replay, Reply(body=recorded("oai-bad-resumption-token.xml")))
    summary = run_harvest(engine, replay)
    assert summary.inserted == 2
    assert any("badResumptionToken" in e for e in summary.errors)
    assert checkpoints(engine) == {}


def test_other_oai_errors_are_raised_by_the_parser():
    body = recorded("oai-no-records-match.xml").replace(b"noRecordsMatch", b"badArgument")
    with pytest.raises(OaiError, match="badArgument"):
        parse_list_records(body)


def test_a_malformed_record_is_rejected_with_its_position_while_the_others_land(engine, replay):
    text = recorded(REAL).decode()
    text = text.replace("<id>1412.8544</id>", "<id>1412.8544</id><title>A & B</title>", 1)
    text = text.replace("<created>1995-04-24</created>", "<created>1995-02-30</created>")
    body = text.encode()
    page = parse_list_records(body, "page 1")
    reasons = {r.position: r.reason for r in page.items if not isinstance(r, Paper)}
    assert set(reasons) == {"record 1 of page 1", "record 2 of page 1"}
    assert reasons["record 1 of page 1"].startswith("bad XML")
    assert "unreadable created date" in reasons["record 2 of page 1"]

    broken = recorded(PAGE1).replace(b"<categories>cs.DM</categories>", b"<categories>cs.DM")
    replay.add("/oai2", Reply(body=recorded(PAGE2)), query_contains="resumptionToken")
    replay.add("/oai2", Reply(body=broken), query_contains="metadataPrefix")
    summary = run_harvest(engine, replay)
    assert summary.inserted == 2 and summary.rejected == 1
    assert summary.rejections[0].position == "record 1 of page 1"
    assert "bad XML" in summary.rejections[0].reason
    assert set(store_snapshot(engine)) == {"hep-th/9504118", "1501.00001"}
