"""Hugging Face daily papers: the documented shape, signals, day ranges, resuming."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs

from huggingface_hub.hf_api import PaperInfo

from paperfeed.ingest.hf_daily import ingest_daily_papers, paper_from_daily, parse_daily_papers
from paperfeed.models import Author, Link, Paper, Rejected, Signal
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers

from .ingest_replay import (
    checkpoints,
    polite_client,
    recorded,
    store_snapshot,
)
from .replay import Reply

FIXTURE = "hf-daily-papers-2025-03-17.json"
DAY = dt.date(2025, 3, 17)


def parsed() -> dict[str, Paper]:
    return {p.arxiv_id: p for p in parse_daily_papers(recorded(FIXTURE), DAY)
            if isinstance(p, Paper)}


def signals_of(paper: Paper) -> dict[str, str]:
    assert all(s.source == "hf" and s.observed_on == DAY for s in paper.signals)
    return {s.kind: s.value for s in paper.signals}


def json_reply(data: object) -> Reply:
    return Reply(body=json.dumps(data).encode(), content_type="application/json")


def run(engine, replay, first=DAY, last=None):
    with polite_client() as client:
        return ingest_daily_papers(
            engine, client, hf_url=replay.url, first_day=first, last_day=last
        )


def test_the_fixture_has_the_shape_huggingface_hub_reads():
    data = json.loads(recorded(FIXTURE))
    infos = [PaperInfo(**json.loads(json.dumps(item))) for item in data]
    assert [i.id for i in infos] == ["2503.11849", "2503.11780"]
    assert [i.upvotes for i in infos] == [42, 7]
    assert [i.comments for i in infos] == [3, 0]
    assert [i.submitted_by.username for i in infos] == ["wangyi111", "akhaliq"]
    ours = parsed()
    for info in infos:
        paper = ours[info.id]
        assert paper.title == info.title
        assert signals_of(paper)["upvotes"] == str(info.upvotes)
        assert signals_of(paper)["comments"] == str(info.comments)
        assert signals_of(paper)["submitter"] == info.submitted_by.username
        assert paper.submitted_at == info.published_at


def test_a_daily_paper_keeps_its_community_signals_and_links():
    paper = parsed()["2503.11849"]
    assert paper.title == "Towards a Unified Copernicus Foundation Model for Earth Vision"
    assert paper.abstract.startswith("Advances in Earth observation (EO) foundation models")
    assert "\n" not in paper.abstract
    assert paper.authors[0] == Author("Yi Wang") and len(paper.authors) == 11
    assert paper.authors[9] == Author("Laura Leal-Taixé")
    assert paper.submitted_at == dt.datetime(2025, 3, 14, 20, 34, 55, tzinfo=dt.UTC)
    assert paper.announced_on == DAY and paper.source == "hf"
    assert signals_of(paper) == {
        "upvotes": "42",
        "comments": "3",
        "submitter": "wangyi111",
        "github_repo": "https://github.com/zhu-xlab/Copernicus-FM",
        "github_stars": "187",
        "project_page": "https://copernicus-fm.github.io/",
        "ai_keywords": json.dumps(
            ["Earth observation", "foundation model", "dynamic hypernetworks",
             "Copernicus-Bench"]
        ),
        "ai_summary": "A unified Copernicus foundation model handles any spectral or "
        "non-spectral sensor.",
        "organization": "TUM",
        "discussion_id": "67d7c0ffee0000000000abcd",
    }
    assert paper.links[:2] == [
        Link("https://github.com/zhu-xlab/Copernicus-FM", "code"),
        Link("https://copernicus-fm.github.io/", "project"),
    ]


def test_hidden_authors_are_left_out_and_missing_fields_give_no_signal():
    paper = parsed()["2503.11780"]
    assert "Hidden Person" not in [a.name for a in paper.authors]
    assert len(paper.authors) == 6
    assert signals_of(paper) == {
        "upvotes": "7", "comments": "0", "submitter": "akhaliq",
        "discussion_id": "67d7c0ffee0000000000beef",
    }


def test_fields_beside_the_paper_object_are_read_too():
    flat = {
        "id": "2503.11849", "title": "A title", "summary": "An abstract.", "upvotes": 5,
        "numComments": 1, "githubRepo": "https://github.com/a/b",
        "submittedOnDailyBy": {"user": "someone", "fullname": "Some One"},
    }
    info = PaperInfo(**dict(flat))
    paper = paper_from_daily(flat, DAY)
    assert info.github_repo == "https://github.com/a/b"
    assert signals_of(paper)["github_repo"] == info.github_repo
    assert signals_of(paper)["submitter"] == "someone"


def test_malformed_elements_are_rejected_with_position_and_reason():
    data = json.loads(recorded(FIXTURE))
    data.insert(0, {"paper": {"title": "no id"}})
    data.insert(2, {"paper": {"id": "2503.11111", "title": "x", "publishedAt": "2099-01-01"}})
    data.append("not an object")
    items = parse_daily_papers(json.dumps(data).encode(), DAY)
    rejected = [(r.position, r.reason) for r in items if isinstance(r, Rejected)]
    assert rejected == [
        ("paper 1 of 2025-03-17", "missing id"),
        ("paper 3 of 2025-03-17", "impossible publishedAt: 2099-01-01T00:00:00+00:00"),
        ("paper 5 of 2025-03-17", "not a JSON object"),
    ]
    assert len([p for p in items if isinstance(p, Paper)]) == 2


def test_a_date_range_is_read_day_by_day_and_twice_changes_nothing(engine, replay):
    replay.add("/api/daily_papers", Reply(body=recorded(FIXTURE)),
               query_contains="date=2025-03-17")
    replay.add("/api/daily_papers", json_reply([]), query_contains="date=2025-03-16")
    summary = run(engine, replay, dt.date(2025, 3, 16), DAY)
    assert summary.as_dict() == {"inserted": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert [parse_qs(e.query)["date"] for e in replay.log] == [["2025-03-16"], ["2025-03-17"]]
    assert replay.log[0].headers["User-Agent"].startswith("paperfeed-tests/")
    assert checkpoints(engine) == {}
    before = store_snapshot(engine)
    again = run(engine, replay, dt.date(2025, 3, 16), DAY)
    assert again.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert store_snapshot(engine) == before


def test_new_upvotes_update_the_signal(engine, replay):
    data = json.loads(recorded(FIXTURE))
    replay.add("/api/daily_papers", json_reply(data))
    run(engine, replay)
    data[0]["paper"]["upvotes"] = 43
    replay.routes.clear()
    replay.add("/api/daily_papers", json_reply(data))
    summary = run(engine, replay)
    assert (summary.updated, summary.unchanged) == (1, 1)
    stored = store_snapshot(engine)["2503.11849"]
    assert Signal("hf", "upvotes", "43", DAY) in stored.signals


def test_an_arxiv_record_already_stored_keeps_its_text_and_gains_the_signals(engine, replay):
    arxiv = Paper(
        arxiv_id="2503.11849", title="Towards a Unified Copernicus Foundation Model for "
        "Earth Vision (arXiv title)", abstract="The arXiv abstract.",
        authors=[Author("Yi Wang", "TUM")], categories=["cs.CV"], primary_category="cs.CV",
        announced_on=dt.date(2025, 3, 16), source="arxiv-rss",
    )
    with write_transaction(engine) as conn:
        upsert_papers(conn, [arxiv])
    replay.add("/api/daily_papers", Reply(body=recorded(FIXTURE)))
    run(engine, replay)
    stored = store_snapshot(engine)["2503.11849"]
    assert stored.title.endswith("(arXiv title)") and stored.abstract == "The arXiv abstract."
    assert stored.authors == [Author("Yi Wang", "TUM")]
    assert stored.announced_on == dt.date(2025, 3, 16)  # arXiv's day, earlier than HF's
    assert stored.source == "arxiv-rss"
    assert signals_of_any(stored)["upvotes"] == "42"
    assert Link("https://github.com/zhu-xlab/Copernicus-FM", "code") in stored.links


def signals_of_any(paper: Paper) -> dict[str, str]:
    return {s.kind: s.value for s in paper.signals if s.source == "hf"}


def test_a_range_stopped_by_a_failing_day_resumes_at_that_day(
    engine, other_engine, replay
):
    def serve(day17: Reply) -> None:
        replay.add("/api/daily_papers", json_reply([json.loads(recorded(FIXTURE))[1]]),
                   query_contains="date=2025-03-16")
        replay.add("/api/daily_papers", day17, query_contains="date=2025-03-17")

    serve(Reply(500, b"{}", content_type="application/json"))
    stopped = run(engine, replay, dt.date(2025, 3, 16), DAY)
    assert stopped.inserted == 1 and "2025-03-17" in stopped.errors[0]
    assert checkpoints(engine) == {("hf", "2025-03-16..2025-03-17"): "2025-03-16"}
    replay.routes.clear()
    replay.log.clear()
    serve(Reply(body=recorded(FIXTURE)))
    resumed = run(engine, replay, dt.date(2025, 3, 16), DAY)
    assert [parse_qs(e.query)["date"] for e in replay.log] == [["2025-03-17"]]
    assert (resumed.inserted, resumed.updated) == (1, 1)
    run(other_engine, replay, dt.date(2025, 3, 16), DAY)
    assert store_snapshot(other_engine) == store_snapshot(engine)


def test_a_reply_that_is_not_a_list_is_an_error_not_a_crash(engine, replay):
    replay.add("/api/daily_papers", json_reply({"error": "Invalid date"}))
    summary = run(engine, replay)
    assert summary.read == 0 and "not a JSON list" in summary.errors[0]


def test_a_paper_known_only_from_hf_takes_hf_corrections(engine, replay):
    data = json.loads(recorded(FIXTURE))
    replay.add("/api/daily_papers", json_reply(data))
    run(engine, replay)
    data[1]["paper"]["title"] = data[1]["title"] = "A corrected title"
    replay.routes.clear()
    replay.add("/api/daily_papers", json_reply(data))
    run(engine, replay)
    assert store_snapshot(engine)["2503.11780"].title == "A corrected title"
