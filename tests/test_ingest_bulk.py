"""Bulk import of JSON Lines files: both schemas, idempotence, bad lines, crashes."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from paperfeed.ingest.bulk import import_file
from paperfeed.store.checkpoints import get_checkpoint
from paperfeed.store.papers import count_papers, get_paper
from paperfeed.store.schema import ingest_checkpoints

DATA = Path(__file__).parent / "data" / "bulk"
LISTING = DATA / "listing-sample.jsonl"
KAGGLE = DATA / "kaggle-sample.jsonl"


def test_listing_file_imports_every_paper_then_finds_them_unchanged(engine: Engine) -> None:
    first = import_file(engine, LISTING, background=False)
    second = import_file(engine, LISTING)
    assert first.as_dict() == {"inserted": 300, "updated": 0, "unchanged": 0, "rejected": 0}
    assert second.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 300, "rejected": 0}
    with engine.connect() as conn:
        assert count_papers(conn) == 300
        paper = get_paper(conn, "2503.11731")
    assert paper is not None
    assert paper.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert "\n" not in paper.abstract and "  " not in paper.abstract
    assert paper.abstract.startswith("Sensor simulation is pivotal for scalable validation")
    assert [a.name for a in paper.authors][:2] == ["Xianming Zeng", "Sicong Du"]
    assert len(paper.authors) == 16
    assert paper.categories == ["cs.CV", "cs.RO"]
    assert paper.announced_on == dt.date(2025, 3, 18)
    assert paper.source == "bulk"


def test_kaggle_snapshot_records_keep_versions_dates_and_metadata(engine: Engine) -> None:
    summary = import_file(engine, KAGGLE)
    assert summary.inserted == 3 and summary.rejected == 0
    with engine.connect() as conn:
        p = get_paper(conn, "0704.0001")
        old = get_paper(conn, "hep-th/9901001")
    assert p is not None and old is not None
    assert p.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert [a.name for a in p.authors] == [
        "C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"
    ]
    assert p.doi == "10.1103/PhysRevD.76.013009"
    assert p.journal_ref == "Phys.Rev.D76:013009,2007"
    assert p.comments == "37 pages, 15 figures; published version"
    assert [v.version for v in p.versions] == [1, 2]
    assert p.submitted_at == dt.datetime(2007, 4, 2, 19, 18, 42, tzinfo=dt.UTC)
    assert p.updated_at == dt.datetime(2008, 11, 13, tzinfo=dt.UTC)
    assert p.source == "kaggle"
    assert old.categories == ["hep-th"]  # the MSC code 81T13 is dropped
    assert [(link.url, link.kind) for link in old.links] == [
        ("https://github.com/example/oldstyle", "code")
    ]


def test_both_schemas_in_one_gzipped_file(engine: Engine, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl.gz"
    with gzip.open(mixed, "wb") as f:
        f.write(KAGGLE.read_bytes() + LISTING.read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n")
    summary = import_file(engine, mixed)
    assert summary.rejected == 0
    assert summary.inserted >= 5


def test_bad_lines_are_reported_with_position_and_reason_and_the_rest_lands(
    engine: Engine, tmp_path: Path
) -> None:
    good = LISTING.read_text().splitlines()[:3]
    bad = [
        "{not json",
        json.dumps({"id": "2501.00001", "summary": "no title here"}),
        json.dumps({"title": "no id", "summary": "x"}),
        json.dumps(
            {"id": "2501.00002", "title": "t", "summary": "s", "listing_date": "2999-01-01"}
        ),
        json.dumps({"id": "not-an-id", "title": "t", "summary": "s"}),
        json.dumps(["a", "list"]),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([good[0], *bad, good[1], "", good[2]]) + "\n")
    summary = import_file(engine, path)
    assert summary.inserted == 3
    assert summary.rejected == 6
    reasons = {r.position: r.reason for r in summary.rejections}
    assert reasons["line 2"].startswith("bad JSON")
    assert reasons["line 3"] == "missing title"
    assert reasons["line 4"] == "missing id"
    assert "impossible listing_date" in reasons["line 5"]
    assert "not an arXiv id" in reasons["line 6"]
    assert reasons["line 7"] == "not a JSON object"


def test_truncated_gzip_keeps_what_was_read_and_says_where_it_broke(
    engine: Engine, tmp_path: Path
) -> None:
    whole = gzip.compress(LISTING.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    summary = import_file(engine, cut, batch_size=50)
    assert 0 < summary.inserted < 300
    assert summary.errors and "stopped after line" in summary.errors[0]


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    """Everything an import writes, minus first_seen_at (a wall-clock time)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT arxiv_id, content_hash, title, authors_text FROM papers ORDER BY arxiv_id")
        ).all()
        kids = conn.execute(
            text(
                "SELECT p.arxiv_id, a.name, pa.position FROM paper_authors pa "
                "JOIN papers p ON p.id = pa.paper_id JOIN authors a ON a.id = pa.author_id "
                "ORDER BY 1, 3"
            )
        ).all()
        cats = conn.execute(
            text(
                "SELECT p.arxiv_id, c.category FROM paper_categories c "
                "JOIN papers p ON p.id = c.paper_id ORDER BY 1, 2"
            )
        ).all()
        checkpoints = conn.execute(select(ingest_checkpoints.c.source)).all()
    return [*map(tuple, rows), *map(tuple, kids), *map(tuple, cats), *map(tuple, checkpoints)]


@pytest.mark.slow
def test_import_killed_midway_then_rerun_ends_like_an_uninterrupted_one(
    engine: Engine, other_engine: Engine, settings, tmp_path: Path
) -> None:
    big = tmp_path / "big.jsonl"
    source = LISTING.read_text()
    big.write_text(source)
    env = {**os.environ, "PAPERFEED_DATABASE_URL": settings.database_url}
    # small batches, killed after the fourth: 300 lines leave 56 more batches to go
    cmd = [sys.executable, "-m", "paperfeed.cli", "import", "--batch-size", "5", str(big)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stat = big.stat()
    key = f"{big.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    deadline = time.monotonic() + 60
    progressed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with engine.connect() as conn:
            progressed = int(get_checkpoint(conn, "bulk", key) or 0)
        if progressed >= 20:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with engine.connect() as conn:
        landed = count_papers(conn)
    assert 0 < landed < len(source.splitlines())
    rerun = import_file(engine, big, batch_size=5)
    assert rerun.inserted == len(source.splitlines()) - landed  # resumed, nothing repeated
    killed = _snapshot(engine)

    import_file(other_engine, big, batch_size=5)
    assert _snapshot(other_engine) == killed


def test_duplicate_ids_within_and_across_batches_merge_as_upserts_of_the_same_batches(
    engine: Engine, other_engine: Engine, tmp_path: Path,
) -> None:
    from paperfeed.ingest.records import paper_from_json
    from paperfeed.store.database import write_transaction
    from paperfeed.store.papers import upsert_papers

    records = [json.loads(line) for line in LISTING.read_text().splitlines()[:6]]
    later = {**records[0], "title": "A later title", "comment": "see https://github.com/a/b",
             "categories": ["cs.LG"], "listing_date": "2025-04-01"}
    latest = {**records[0], "authors": ["Someone Else"], "summary": "A new abstract."}
    kaggle = json.loads(KAGGLE.read_text().splitlines()[0])
    kaggle_again = {**kaggle, "doi": None, "journal-ref": "Other (2009)"}
    # batch size 2: records[0] repeats inside its batch and in a later batch, the Kaggle
    # record in the next batch
    lines = [records[0], later, records[1], kaggle, records[2], kaggle_again, latest, records[3]]
    path = tmp_path / "dupes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))

    summary = import_file(engine, path, batch_size=2)
    assert summary.as_dict() == {"inserted": 5, "updated": 2, "unchanged": 0, "rejected": 0}

    direct = other_engine
    for start in range(0, len(lines), 2):
        with write_transaction(direct) as conn:
            upsert_papers(conn, [paper_from_json(r) for r in lines[start : start + 2]])
    assert _snapshot(engine) == _snapshot(direct)
    with engine.connect() as conn, direct.connect() as other:
        for arxiv_id in (records[0]["id"], kaggle["id"]):
            assert get_paper(conn, arxiv_id) == get_paper(other, arxiv_id)
        merged = get_paper(conn, records[0]["id"])
        kaggle_paper = get_paper(conn, kaggle["id"])
    assert merged is not None and kaggle_paper is not None
    assert merged.title == records[0]["title"] and merged.abstract == "A new abstract."
    assert [a.name for a in merged.authors] == ["Someone Else"]
    assert [link.url for link in merged.links] == ["https://github.com/a/b"]
    assert merged.announced_on == dt.date(2025, 3, 18)  # the first announcement stays
    assert kaggle_paper.doi == kaggle["doi"] and kaggle_paper.journal_ref == "Other (2009)"


def test_reimporting_an_edited_file_updates_exactly_the_edited_papers(
    engine: Engine, tmp_path: Path
) -> None:
    records = [json.loads(line) for line in LISTING.read_text().splitlines()]
    import_file(engine, LISTING, batch_size=64)
    for i in (0, 77, 299):
        records[i]["title"] = f"Edited title {i}"
    records[150]["authors"] = [*records[150]["authors"], "A. Newcomer"]
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = import_file(engine, edited, batch_size=64)
    assert summary.as_dict() == {"inserted": 0, "updated": 4, "unchanged": 296, "rejected": 0}
    assert import_file(engine, edited).as_dict()["unchanged"] == 300
    with engine.connect() as conn:
        assert count_papers(conn) == 300
        p = get_paper(conn, records[77]["id"])
        q = get_paper(conn, records[150]["id"])
    assert p is not None and p.title == "Edited title 77"
    assert q is not None and q.authors[-1].name == "A. Newcomer"


def test_background_parser_stops_with_its_consumer_and_its_death_is_reported() -> None:
    from paperfeed.ingest.bulk import read_batches, read_batches_in_background

    batches = read_batches_in_background(LISTING, batch_size=10)
    first = next(batches)
    expected = next(read_batches(LISTING, batch_size=10))
    assert first.rows == expected.rows and first.last_line == expected.last_line
    batches.close()  # kills the parser; must not hang

    with pytest.raises(RuntimeError, match="died"):
        list(read_batches_in_background(LISTING, dialect="no-such-database"))
