"""Papers as row tuples (the bulk importer's hot path): rebuilt exactly, written like
upserts one after another — new, changed, unchanged and duplicated papers in one batch."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from paperfeed.models import Author, Link, Paper, Signal, Version
from paperfeed.store.database import write_transaction
from paperfeed.store.paper_rows import paper_rows, write_paper_rows
from paperfeed.store.papers import content_hash, get_paper, upsert_papers

from .test_store_papers import make_paper

CET = dt.timezone(dt.timedelta(hours=1))


def full_paper(arxiv_id: str = "2501.00001", **kw: object) -> Paper:
    base: dict[str, object] = {
        "comments": "code at https://github.com/x/y",
        "journal_ref": "Nature 1 (2025)",
        "doi": "10.1/abc",
        "license": "http://creativecommons.org/licenses/by/4.0/",
        "submitted_at": dt.datetime(2025, 1, 1, 12, 30, 1, 250, tzinfo=CET),
        "updated_at": dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
        "versions": [
            Version(1, dt.datetime(2025, 1, 1, 11, 30, 1, 250, tzinfo=dt.UTC), "12kb"),
            Version(2, None, None),
        ],
        "signals": [Signal("hf", "upvotes", "12", dt.date(2025, 1, 4)), Signal("hf", "x", "y")],
        "links": [Link("https://github.com/x/y", "code"), Link("https://x.io", "project")],
    }
    base.update(kw)
    return make_paper(arxiv_id, **base)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_rows_rebuild_exactly_the_papers_they_were_made_from(dialect: str) -> None:
    papers = [
        full_paper(),
        make_paper("2501.00002", primary_category=None, categories=["cs.LG", "cs.AI"]),
        make_paper("hep-th/9901001", authors=[], categories=[], versions=[], links=[]),
        make_paper("2501.00003", authors=[Author("Zoë Ångström", "ETH"), Author("zoe angstrom")]),
    ]
    rows = paper_rows(papers, dialect)
    assert len(rows) == 4
    rebuilt = rows.papers_at([2, 0, 3, 1])
    assert rebuilt == [papers[2], papers[0], papers[3], papers[1]]
    assert [content_hash(p) for p in rebuilt] == [
        r[-1] for r in (rows.papers[i] for i in (2, 0, 3, 1))
    ]
    assert rebuilt[3].primary_category is None  # "the source did not say" survives
    assert rows.papers[1][4] == "cs.LG"  # while the stored row falls back to the first


def test_rows_for_one_database_are_refused_by_the_other(engine: Engine) -> None:
    other = "postgresql" if engine.dialect.name == "sqlite" else "sqlite"
    with write_transaction(engine) as conn, pytest.raises(ValueError):
        write_paper_rows(conn, paper_rows([make_paper()], other))


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT arxiv_id FROM papers ORDER BY arxiv_id"))]
        hashes = conn.execute(text("SELECT arxiv_id, content_hash FROM papers ORDER BY 1")).all()
        return [*map(tuple, hashes), *(get_paper(conn, i) for i in ids)]  # type: ignore[misc]


def test_duplicates_in_one_batch_end_like_upserts_one_after_another(
    engine: Engine, other_engine: Engine
) -> None:
    first = full_paper(title="Old title")
    again = make_paper(
        title="New title", doi=None, announced_on=dt.date(2025, 2, 10),
        versions=[Version(3, dt.datetime(2025, 3, 1, tzinfo=dt.UTC))],
        signals=[Signal("hf", "upvotes", "40")], source="hf",
    )
    with write_transaction(engine) as conn:
        summary = upsert_papers(conn, [first, make_paper("2501.00009"), again])
    assert summary.as_dict() == {"inserted": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    for batch in ([first], [make_paper("2501.00009")], [again]):
        with write_transaction(other_engine) as conn:
            upsert_papers(conn, batch)
    assert _stored(engine) == _stored(other_engine)
    with engine.connect() as conn:
        stored = get_paper(conn, "2501.00001")
    assert stored is not None and stored.title == "New title" and stored.doi == "10.1/abc"
    assert [v.version for v in stored.versions] == [1, 2, 3]


def test_a_batch_of_new_changed_and_unchanged_papers_is_counted_and_indexed(
    engine: Engine,
) -> None:
    with write_transaction(engine) as conn:
        upsert_papers(conn, [make_paper("2501.00001"), make_paper("2501.00002")])
    batch = [
        make_paper("2501.00001"),  # unchanged
        make_paper("2501.00002", title="Quokkas Are Not Attention", doi="10.9/q"),  # changed
        full_paper("2501.00003", title="Wombats need attention"),  # new
        make_paper("2501.00004", authors=[Author("Grace Hopper")]),  # new, new author
    ]
    with write_transaction(engine) as conn:
        summary = upsert_papers(conn, batch)
    assert summary.as_dict() == {"inserted": 2, "updated": 1, "unchanged": 1, "rejected": 0}
    with engine.connect() as conn:
        changed = get_paper(conn, "2501.00002")
        new = get_paper(conn, "2501.00003")
        hopper = get_paper(conn, "2501.00004")
        if engine.dialect.name == "sqlite":
            def hits(word: str) -> set[str]:
                return set(conn.execute(text(
                    "SELECT p.arxiv_id FROM papers_fts f JOIN papers p ON p.id = f.rowid "
                    "WHERE papers_fts MATCH :q"), {"q": word}).scalars())
        else:
            def hits(word: str) -> set[str]:
                return set(conn.execute(text(
                    "SELECT arxiv_id FROM papers WHERE search_tsv @@ plainto_tsquery(:q)"),
                    {"q": word}).scalars())
        assert hits("quokkas") == {"2501.00002"}
        assert hits("wombats") == {"2501.00003"}
        assert hits("hopper") == {"2501.00004"}
    assert changed is not None and changed.doi == "10.9/q"
    assert changed.authors == make_paper().authors
    assert new == full_paper("2501.00003", title="Wombats need attention")
    assert hopper is not None and hopper.authors == [Author("Grace Hopper")]
    with write_transaction(engine) as conn:
        again = upsert_papers(conn, batch)
    assert again.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 4, "rejected": 0}
