"""arXiv RSS listings: announce types, the announcement day, API details, resuming."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from urllib.parse import parse_qs

from paperfeed.ingest.arxiv_rss import ingest_listings, parse_listing, split_authors
from paperfeed.models import Author, Link, Paper, Rejected, Signal, Version

from .ingest_replay import (
    checkpoints,
    polite_client,
    recorded,
    store_snapshot,
)
from .replay import Reply

LISTING = "quant-ph.xml"
DETAILS = "atom-details-quant-ph.xml"
DAY = dt.date(2025, 4, 28)


def listed() -> dict[str, Paper]:
    items = parse_listing(recorded(LISTING), "quant-ph").items
    return {p.arxiv_id: p for p in items if isinstance(p, Paper)}


def serve(replay, details: Reply | None = None, listing: bytes | None = None) -> None:
    replay.add("/rss/quant-ph", Reply(body=listing or recorded(LISTING)))
    replay.add("/api/query", details or Reply(body=recorded(DETAILS)))


def run(engine, replay, **kw):
    with polite_client() as client:
        return ingest_listings(
            engine, client, rss_url=f"{replay.url}/rss", api_url=f"{replay.url}/api/query",
            categories=["quant-ph"], **kw,
        )


def test_the_real_listing_parses_every_item_with_its_announce_type():
    listing = parse_listing(recorded(LISTING), "quant-ph")
    assert listing.day == DAY
    assert len(listing.items) == 81
    assert not [i for i in listing.items if isinstance(i, Rejected)]
    kinds = Counter(p.signals[0].value for p in listing.items if isinstance(p, Paper))
    assert kinds == {"new": 40, "replace": 22, "cross": 10, "replace-cross": 9}


def test_a_new_item_is_announced_that_day_with_its_listing_fields():
    paper = listed()["2504.17837"]
    assert paper.title == (
        "Statistical noise enhances quantumness benefits in spin-network quantum reservoir "
        "computing"
    )
    assert paper.abstract.startswith("Quantum reservoir computing offers a promising approach")
    assert not paper.abstract.startswith("arXiv:")
    assert paper.authors == [Author("Youssef Kora"), Author("Christoph Simon")]
    assert paper.categories == ["quant-ph", "physics.comp-ph"]
    assert paper.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert paper.announced_on == DAY
    assert paper.signals == [Signal("arxiv", "announce:quant-ph", "new", DAY)]
    assert paper.versions == [Version(1)]
    assert paper.source == "arxiv-rss"


def test_a_replacement_keeps_its_version_but_is_not_announced_again():
    paper = listed()["2112.14988"]
    assert paper.latest_version == 4
    assert paper.announced_on is None
    assert paper.signals == [Signal("arxiv", "announce:quant-ph", "replace", DAY)]


def test_latex_doi_and_journal_ref_are_kept():
    papers = listed()
    assert "\\(T_w = i\\hbar\\bigl(" in papers["2504.17830"].abstract
    review = papers["2504.18342"]
    assert review.doi == "10.1016/j.ppnp.2025.104174"
    assert review.journal_ref == "Progress in Particle and Nuclear Physics (2025)"
    assert any("M{\\o}lmer" in a.name for p in papers.values() for a in p.authors)


def test_creators_split_on_commas_and_a_final_and():
    assert split_authors("Ada Lovelace, Alan Turing and  Grace\n Hopper") == [
        Author("Ada Lovelace"), Author("Alan Turing"), Author("Grace Hopper")
    ]


def test_a_listing_lands_completed_by_the_api(engine, replay):
    serve(replay)
    summary = run(engine, replay)
    assert summary.as_dict() == {"inserted": 81, "updated": 0, "unchanged": 0, "rejected": 0}
    assert not summary.errors
    ids = parse_qs(replay.log[1].query)["id_list"][0].split(",")
    assert len(ids) == 81 and ids[0] == "2504.17830"
    stored = store_snapshot(engine)
    assert len(stored) == 81
    new = stored["2504.17830"]
    assert new.authors == [Author("Radmir Kokoulin", "Independent researcher")]
    assert new.submitted_at == dt.datetime(2025, 4, 24, 17, 59, 2, tzinfo=dt.UTC)
    assert new.comments == "5 pages, no figures"
    assert new.primary_category == "quant-ph"
    assert new.announced_on == DAY and new.source == "arxiv-rss"
    assert new.license == "http://creativecommons.org/licenses/by/4.0/"
    replaced = stored["2112.14988"]
    assert [v.version for v in replaced.versions] == [1, 4]
    assert replaced.versions[0].submitted_at == dt.datetime(2021, 12, 30, 7, 37, 37, tzinfo=dt.UTC)
    assert replaced.announced_on is None
    assert Link("https://github.com/example/deniable", "code") in replaced.links
    assert checkpoints(engine) == {}


def test_reading_the_same_listing_again_changes_nothing(engine, replay):
    serve(replay)
    run(engine, replay)
    before = store_snapshot(engine)
    again = run(engine, replay)
    assert again.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 81, "rejected": 0}
    assert store_snapshot(engine) == before


def test_without_details_only_the_listing_is_read(engine, replay):
    serve(replay)
    summary = run(engine, replay, details=False)
    assert summary.inserted == 81
    assert [entry.path for entry in replay.log] == ["/rss/quant-ph"]


def test_a_details_failure_stops_at_that_batch_and_the_rerun_continues(
    engine, other_engine, replay
):
    replay.add("/rss/quant-ph", Reply(body=recorded(LISTING)))
    replay.add("/api/query", Reply(body=recorded(DETAILS)), query_contains="id_list=2504.17830")
    replay.add("/api/query", Reply(503, b"busy", {"Retry-After": "1"}))
    stopped = run(engine, replay, batch_size=40)
    assert stopped.inserted == 40 and len(stopped.errors) == 1
    assert "items 41-80" in stopped.errors[0] and "HTTP 503" in stopped.errors[0]
    assert checkpoints(engine) == {("arxiv-rss", "quant-ph 2025-04-28"): "40"}

    replay.routes.clear()
    replay.log.clear()
    serve(replay)
    resumed = run(engine, replay, batch_size=40)
    asked = [parse_qs(e.query)["id_list"][0].split(",") for e in replay.log[1:]]
    assert [len(batch) for batch in asked] == [40, 1]  # items 41-80, then 81
    assert resumed.inserted == 41 and not resumed.errors
    assert checkpoints(engine) == {}

    run(other_engine, replay, batch_size=40)
    assert store_snapshot(other_engine) == store_snapshot(engine)


def test_a_malformed_item_is_rejected_while_the_rest_of_the_listing_lands(engine, replay):
    text = recorded(LISTING).decode()
    text = text.replace(
        "<title>Self-Adjoint Time Operator in a Weighted Energy Space</title>", "<title/>"
    )
    text = text.replace("<pubDate>Mon, 28 Apr 2025 00:00:00 -0400</pubDate>\n"
                        "      <arxiv:announce_type>new", "<pubDate>Mon, 28 Apr 2125 00:00:00 -0400"
                        "</pubDate>\n      <arxiv:announce_type>new", 2)
    serve(replay, listing=text.encode())
    summary = run(engine, replay, details=False)
    assert summary.inserted == 79 and summary.rejected == 2
    assert summary.rejections[0].position == "item 1 of quant-ph"
    assert summary.rejections[0].reason == "2504.17830: missing title"
    assert summary.rejections[1].position == "item 2 of quant-ph"
    assert "impossible pubDate" in summary.rejections[1].reason


def test_an_unreachable_category_is_reported_and_the_others_still_land(engine, replay):
    serve(replay)
    replay.add("/rss/cs.XX", Reply(404, b"no such category", content_type="text/plain"))
    with polite_client() as client:
        summary = ingest_listings(
            engine, client, rss_url=f"{replay.url}/rss", api_url=f"{replay.url}/api/query",
            categories=["cs.XX", "quant-ph"],
        )
    assert summary.inserted == 81
    assert len(summary.errors) == 1 and "cs.XX" in summary.errors[0]
