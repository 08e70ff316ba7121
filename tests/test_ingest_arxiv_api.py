"""arXiv API (Atom): parsing real replies, paged backfill with checkpoints, bad entries."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest

from paperfeed.ingest.arxiv_api import (
    backfill_category,
    backfill_query,
    fetch_details,
    parse_atom_page,
)
from paperfeed.ingest.documents import InvalidDocument
from paperfeed.models import Author, Paper, Rejected

from .ingest_replay import (
    checkpoints,
    polite_client,
    recorded,
    store_snapshot,
)
from .replay import Reply

GAN = "query_all_GAN_max10_2024-01-22.xml"
PAGE1, PAGE2 = "atom-backfill-page1.xml", "atom-backfill-page2.xml"
UTC = dt.UTC
JAN = (dt.date(2024, 1, 1), dt.date(2024, 1, 22))


def papers_of(items: list[Paper | Rejected]) -> dict[str, Paper]:
    return {p.arxiv_id: p for p in items if isinstance(p, Paper)}


def backfill(engine, replay, **kw):
    with polite_client() as client:
        return backfill_category(
            engine, client, api_url=f"{replay.url}/api/query", category="cs.CV",
            first_day=JAN[0], last_day=JAN[1], page_size=5, **kw,
        )


def serve_two_pages(replay, second: Reply | None = None) -> None:
    replay.add("/api/query", Reply(body=recorded(PAGE1)), query_contains="start=0&")
    replay.add("/api/query", second or Reply(body=recorded(PAGE2)), query_contains="start=5&")


def test_the_recorded_reply_parses_into_complete_papers():
    page = parse_atom_page(recorded(GAN))
    assert page.total == 10468
    papers = papers_of(page.items)
    assert len(papers) == 10 and len(page.items) == 10
    survey = papers["2111.13282"]
    assert survey.title == (
        "Generative Adversarial Networks and Adversarial Autoencoders: Tutorial and Survey"
    )
    assert survey.abstract.startswith("This is a tutorial and survey paper on Generative")
    assert "\n" not in survey.abstract and "  " not in survey.abstract
    assert [a.name for a in survey.authors] == [
        "Benyamin Ghojogh", "Ali Ghodsi", "Fakhri Karray", "Mark Crowley"
    ]
    assert survey.primary_category == "cs.LG"
    assert survey.categories == ["cs.LG", "cs.CV", "eess.IV", "stat.ML"]
    assert survey.comments == (
        "To appear as a part of an upcoming textbook on dimensionality reduction and "
        "manifold learning"
    )
    assert survey.submitted_at == dt.datetime(2021, 11, 26, 0, 45, 8, tzinfo=UTC)
    assert survey.source == "arxiv-api"


def test_a_paper_at_v6_keeps_both_dates_and_its_journal_ref():
    paper = papers_of(parse_atom_page(recorded(GAN)).items)["1701.06264"]
    assert paper.latest_version == 6
    assert [v.version for v in paper.versions] == [1, 6]
    assert paper.submitted_at is not None and paper.updated_at is not None
    assert paper.updated_at > paper.submitted_at
    assert paper.versions[-1].submitted_at == paper.updated_at
    assert paper.journal_ref == "in International Journal of Computer Vision (IJCV), 2019"


def test_msc_codes_are_dropped_from_the_categories():
    raw = recorded(GAN)
    assert b'term="68T05"' in raw
    every = [c for p in papers_of(parse_atom_page(raw).items).values() for c in p.categories]
    assert "68T05" not in every and "q-fin.CP" in every


def test_affiliations_and_doi_are_read():
    page = parse_atom_page(recorded("atom-details-quant-ph.xml"))
    paper = papers_of(page.items)["2504.17830"]
    assert paper.authors == [Author("Radmir Kokoulin", "Independent researcher")]
    assert paper.comments == "5 pages, no figures"
    assert "\\(T_w = i\\hbar" in paper.abstract  # LaTeX kept as written


def test_an_api_error_feed_is_an_error_not_an_empty_page():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
<title>Error</title><summary>incorrect id format for 1234.12345</summary></entry></feed>"""
    with pytest.raises(InvalidDocument, match="incorrect id format"):
        parse_atom_page(body)


def test_malformed_entries_are_rejected_with_position_and_reason_while_the_rest_parse():
    text = recorded(GAN).decode()
    text = text.replace("<title>GAN You Do the GAN GAN?</title>", "<title>  </title>")
    text = text.replace(
        "<published>2023-03-27T18:18:15Z</published>", "<published>2093-03-27T18:18:15Z</published>"
    )
    # An unescaped ampersand makes the whole feed ill-formed XML.
    text = text.replace("Wasserstein GAN, are introduced", "Wasserstein & GAN, are introduced")
    page = parse_atom_page(text.encode(), "page 1")
    rejected = [r for r in page.items if isinstance(r, Rejected)]
    assert [r.position for r in rejected] == ["entry 1 of page 1", "entry 2 of page 1",
                                              "entry 3 of page 1"]
    assert "bad XML" in rejected[0].reason
    assert rejected[1].reason == "1904.00724: missing title"
    assert "impossible published date" in rejected[2].reason
    assert len(papers_of(page.items)) == 7


def test_details_are_asked_by_id_in_batches(replay):
    replay.add("/api/query", Reply(body=recorded("atom-details-quant-ph.xml")))
    ids = [f"2504.{n:05d}" for n in range(250)]
    with polite_client() as client:
        batches = list(fetch_details(client, f"{replay.url}/api/query", ids, batch_size=100))
    assert [len(asked) for asked, _ in batches] == [100, 100, 50]
    query = parse_qs(replay.log[2].query)
    assert query["id_list"] == [",".join(ids[200:])]
    assert query["max_results"] == ["50"]


def test_backfill_pages_through_a_category_and_date_range(engine, replay):
    serve_two_pages(replay)
    summary = backfill(engine, replay)
    assert summary.as_dict() == {"inserted": 10, "updated": 0, "unchanged": 0, "rejected": 0}
    assert not summary.errors
    first, second = (parse_qs(entry.query) for entry in replay.log)
    assert first["search_query"] == [
        "cat:cs.CV AND submittedDate:[202401010000 TO 202401222359]"
    ]
    assert (first["start"], second["start"]) == (["0"], ["5"])
    assert first["max_results"] == ["5"] and first["sortBy"] == ["submittedDate"]
    assert len(store_snapshot(engine)) == 10
    assert checkpoints(engine) == {}  # a finished backfill forgets its cursor


def test_backfill_twice_changes_nothing(engine, replay):
    serve_two_pages(replay)
    backfill(engine, replay)
    before = store_snapshot(engine)
    again = backfill(engine, replay)
    assert again.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 10, "rejected": 0}
    assert store_snapshot(engine) == before


def test_a_backfill_stopped_on_page_two_resumes_there_and_ends_like_an_uninterrupted_one(
    engine, other_engine, replay
):
    serve_two_pages(replay, Reply(502, b"bad gateway", content_type="text/plain"))
    stopped = backfill(engine, replay)
    assert stopped.inserted == 5 and len(stopped.errors) == 1
    assert "start=5" in stopped.errors[0] and "HTTP 502" in stopped.errors[0]
    assert checkpoints(engine) == {("arxiv-api", "cs.CV 20240101..20240122"): "5"}

    replay.routes.clear()
    replay.log.clear()
    serve_two_pages(replay)
    resumed = backfill(engine, replay)
    assert [parse_qs(e.query)["start"] for e in replay.log] == [["5"]]
    assert resumed.inserted == 5 and not resumed.errors
    assert checkpoints(engine) == {}
    assert len(store_snapshot(engine)) == 10

    replay.routes.clear()
    serve_two_pages(replay)
    backfill(other_engine, replay)
    assert store_snapshot(other_engine) == store_snapshot(engine)


def test_a_malformed_entry_is_reported_while_the_rest_of_the_page_lands(engine, replay):
    text = recorded(PAGE1).decode().replace(
        "<id>http://arxiv.org/abs/1904.00724v1</id>", "<id>not-an-id</id>"
    )
    replay.add("/api/query", Reply(body=text.encode()), query_contains="start=0&")
    replay.add("/api/query", Reply(body=recorded(PAGE2)), query_contains="start=5&")
    summary = backfill(engine, replay)
    assert summary.inserted == 9 and summary.rejected == 1
    assert summary.rejections[0].position == "entry 2 of page at start=0"
    assert "not an arXiv id" in summary.rejections[0].reason
    assert "1904.00724" not in store_snapshot(engine)


def test_backfill_query_covers_whole_days():
    query = backfill_query("cs.CL", dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert query == "cat:cs.CL AND submittedDate:[202503010000 TO 202503312359]"
