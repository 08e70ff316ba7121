"""The paper store: idempotent upserts, merging, lookups — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from paperfeed.models import Author, Link, Paper, Signal, Version
from paperfeed.store.database import write_transaction
from paperfeed.store.migrate import pending_revisions, upgrade_database
from paperfeed.store.papers import count_papers, get_paper, upsert_papers
from paperfeed.store.schema import authors, paper_authors


def make_paper(arxiv_id: str = "2501.00001", **kw: object) -> Paper:
    base: dict[str, object] = {
        "arxiv_id": arxiv_id,
        "title": "Attention Is Not All You Need",
        "abstract": "We study $\\alpha$-attention & <b>things</b>.",
        "authors": [Author("Ada Lovelace", "Analytical Engines Ltd"), Author("Alan Turing")],
        "categories": ["cs.CL", "cs.AI"],
        "primary_category": "cs.CL",
        "announced_on": dt.date(2025, 1, 3),
        "versions": [Version(1, dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC))],
        "links": [Link("https://github.com/x/y", "code")],
        "source": "arxiv-api",
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]


def test_upsert_twice_changes_nothing_the_second_time(engine):
    with write_transaction(engine) as conn:
        first = upsert_papers(conn, [make_paper(), make_paper("2501.00002")])
    with write_transaction(engine) as conn:
        second = upsert_papers(conn, [make_paper(), make_paper("2501.00002")])
    assert first.as_dict() == {"inserted": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert second.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    with engine.connect() as conn:
        assert count_papers(conn) == 2


def test_paper_round_trips_with_every_field(engine):
    paper = make_paper(
        comments="10 pages; code at https://github.com/x/y",
        journal_ref="Nature 1 (2025)",
        doi="10.1/abc",
        license="http://creativecommons.org/licenses/by/4.0/",
        updated_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
        submitted_at=dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC),
        versions=[
            Version(1, dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)),
            Version(2, dt.datetime(2025, 2, 1, tzinfo=dt.UTC)),
        ],
        signals=[Signal("hf", "upvotes", "12", dt.date(2025, 1, 4))],
    )
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper])
    with engine.connect() as conn:
        stored = get_paper(conn, "2501.00001")
    assert stored is not None
    assert stored.title == paper.title
    assert stored.abstract == paper.abstract
    assert stored.authors == paper.authors
    assert stored.categories == ["cs.CL", "cs.AI"]
    assert stored.primary_category == "cs.CL"
    assert stored.versions == paper.versions
    assert stored.latest_version == 2
    assert stored.links == paper.links
    assert stored.signals == paper.signals
    assert (stored.doi, stored.journal_ref, stored.license) == (
        paper.doi, paper.journal_ref, paper.license
    )
    assert stored.submitted_at == paper.submitted_at
    assert stored.updated_at == paper.updated_at


def test_update_merges_and_keeps_what_the_new_source_does_not_say(engine):
    with write_transaction(engine) as conn:
        upsert_papers(conn, [make_paper(doi="10.1/abc")])
    newer = make_paper(
        title="Attention Is Not All You Need (v2)",
        doi=None,
        announced_on=dt.date(2025, 2, 10),  # a replacement announcement
        versions=[Version(2, dt.datetime(2025, 2, 9, tzinfo=dt.UTC))],
        signals=[Signal("hf", "upvotes", "3")],
        source="hf",
    )
    with write_transaction(engine) as conn:
        summary = upsert_papers(conn, [newer])
    assert summary.updated == 1
    with engine.connect() as conn:
        stored = get_paper(conn, "2501.00001")
    assert stored is not None
    assert stored.title.endswith("(v2)")
    assert stored.doi == "10.1/abc"
    assert stored.announced_on == dt.date(2025, 1, 3)  # first announcement stays
    assert [v.version for v in stored.versions] == [1, 2]
    assert stored.source == "arxiv-api"  # where it was first seen
    assert stored.signals == [Signal("hf", "upvotes", "3")]
    # and re-sending the same update is now a no-op
    with write_transaction(engine) as conn:
        assert upsert_papers(conn, [newer]).unchanged == 1


def test_authors_are_shared_between_papers_and_ordered(engine):
    with write_transaction(engine) as conn:
        upsert_papers(
            conn, [make_paper(), make_paper("2501.00002", authors=[Author("alan turing")])]
        )
    with engine.connect() as conn:
        assert conn.execute(select(authors.c.name)).scalars().all().count("Alan Turing") == 1
        positions = conn.execute(
            select(paper_authors.c.position)
            .order_by(paper_authors.c.paper_id, paper_authors.c.position)
        ).scalars().all()
    assert positions == [0, 1, 0]


def test_init_is_idempotent(engine):
    assert pending_revisions(engine) == set()
    upgrade_database(engine)
    assert pending_revisions(engine) == set()
