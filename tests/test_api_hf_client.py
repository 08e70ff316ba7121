"""The official ``huggingface_hub`` client, unchanged, against a running paperfeed server.

uvicorn serves the app on 127.0.0.1 in a thread; ``HfApi(endpoint=...)`` calls
``list_daily_papers`` (every parameter), ``list_papers``, ``paper_info`` and ``read_paper``
and the parsed ``PaperInfo`` objects are checked field by field. Nothing may leave the
machine: telemetry is off, no stored Hugging Face token is read, and any connection to a
non-loopback address fails the test.
"""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import json
import math
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError

from paperfeed.ingest.hf_files import import_daily_files
from paperfeed.rank.trending import PRIOR, STAR_WEIGHT
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.submissions import record_submission
from paperfeed.store.users import update_profile
from paperfeed.store.votes import set_vote

from .factories import (
    NEWEST_DAY,
    TRICKY_ABSTRACT,
    TRICKY_ID,
    TRICKY_TITLE,
    make_api_user,
    served,
)

pytestmark = pytest.mark.corpus("api")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) else str(address)
        if not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"test tried to reach the network: {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No network, no telemetry, no Hugging Face token from this machine."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf" / "tokens"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def server(site, offline) -> Iterator[str]:
    """The app served by uvicorn on a free 127.0.0.1 port; yields its base URL."""
    with served(site.app) as url:
        yield url


@pytest.fixture
def community(corpus):
    """ada submitted the tricky paper today; two users upvoted it, one upvoted another."""
    ada = make_api_user(corpus, "ada")
    grace = make_api_user(corpus, "grace")
    with write_transaction(corpus) as conn:
        ids = dict(conn.execute(
            papers.select().with_only_columns(papers.c.arxiv_id, papers.c.id)
        ).all())
        update_profile(conn, ada.id, display_name="Ada Lovelace", bio="")
        record_submission(conn, ids[TRICKY_ID], ada.id, NEWEST_DAY)
        set_vote(conn, ada.id, ids[TRICKY_ID], True)
        set_vote(conn, grace.id, ids[TRICKY_ID], True)
        set_vote(conn, grace.id, ids["2503.11731"], True)
    return ada


def ids(infos) -> list[str]:
    return [info.id for info in infos]


def test_list_daily_papers_parses_into_paper_info(server, community):
    api = HfApi(endpoint=server)
    infos = list(api.list_daily_papers(date=NEWEST_DAY.isoformat()))
    assert len(infos) == 5
    top = infos[0]
    assert top.id == TRICKY_ID
    assert top.title == TRICKY_TITLE
    assert top.summary == TRICKY_ABSTRACT
    assert [a.name for a in top.authors] == ["Zoë O'Brien & Co", "Ada Lovelace"]
    assert top.upvotes == 2
    assert top.published_at == dt.datetime(2025, 3, 21, 17, 0, tzinfo=dt.UTC)
    assert top.submitted_at is not None and top.submitted_at.date() == dt.date.today()
    assert top.submitted_by is not None
    assert top.submitted_by.username == "ada" and top.submitted_by.fullname == "Ada Lovelace"
    assert top.github_repo == "https://github.com/example/tricky"
    assert top.project_page == "https://example.org/tricky?a=1&b=2"
    assert top.discussion_id and top.comments == 0 and top.ai_keywords == []
    quiet = infos[-1]
    assert quiet.upvotes == 0 and quiet.submitted_by is None
    assert quiet.published_at == dt.datetime(2025, 3, 24, tzinfo=dt.UTC)


def test_list_daily_papers_every_parameter(server, community):
    api = HfApi(endpoint=server)
    week = list(api.list_daily_papers(week="2025-W12", limit=100))
    assert len(week) == 21 and ids(week)[0] == "2503.11731"  # most upvoted first
    month = list(api.list_daily_papers(month="2025-03", limit=100))
    assert len(month) == 26
    assert ids(api.list_daily_papers(submitter="ada")) == [TRICKY_ID]
    newest = list(api.list_daily_papers(sort="publishedAt", limit=3))
    assert newest[0].submitted_at.date() >= NEWEST_DAY
    trending = list(api.list_daily_papers(sort="trending", week="2025-W13"))
    assert trending[0].id == TRICKY_ID
    pages = [ids(api.list_daily_papers(month="2025-03", limit=10, p=p)) for p in range(3)]
    assert sum(len(p) for p in pages) == 26
    assert len({i for page in pages for i in page}) == 26
    assert list(api.list_daily_papers(date="2025-03-22", token=False)) == []


def test_list_papers_searches(server, community):
    api = HfApi(endpoint=server)
    found = list(api.list_papers(query="gaussian splatting slam", limit=3))
    assert found and found[0].id == "2503.11979"
    assert len(found) <= 3
    assert found[0].title.startswith("DynaGSLAM")


def test_paper_info_and_read_paper(server, community):
    api = HfApi(endpoint=server)
    info = api.paper_info(TRICKY_ID)
    assert info.id == TRICKY_ID
    assert info.title == TRICKY_TITLE
    assert [a.name for a in info.authors] == ["Zoë O'Brien & Co", "Ada Lovelace"]
    assert info.upvotes == 2
    assert info.published_at == dt.datetime(2025, 3, 21, 17, 0, tzinfo=dt.UTC)
    assert info.submitted_by is not None and info.submitted_by.username == "ada"
    assert info.github_repo == "https://github.com/example/tricky"
    unvoted = api.paper_info("2503.11780")
    assert unvoted.upvotes == 0 and unvoted.submitted_by is None
    markdown = api.read_paper(TRICKY_ID)
    assert markdown.startswith("# Escaping") and "## Abstract" in markdown


def test_unknown_paper_raises_the_clients_http_error(server, community):
    api = HfApi(endpoint=server)
    with pytest.raises(HfHubHTTPError) as info:
        api.paper_info("2501.00000")
    assert info.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError):
        api.read_paper("2501.00000")
    with pytest.raises(HfHubHTTPError) as bad:
        list(api.list_daily_papers(week="2025-W60"))
    assert bad.value.response.status_code == 400


def test_paper_info_has_ai_summary_and_keywords_after_index(server, corpus):
    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.index.summaries import index_summaries
    from paperfeed.index.vectors import index_missing

    embedder = HashingEmbedder()
    index_missing(corpus, embedder)
    run = index_summaries(corpus, embedder)
    assert run.computed == run.papers > 0
    api = HfApi(endpoint=server, token=False)
    found = list(api.list_papers(query="sensor"))
    assert found
    for paper in found:
        info = api.paper_info(paper.id)
        assert info.ai_summary and len(info.ai_summary) <= len(info.summary or "") + 1
        assert 1 <= len(info.ai_keywords or []) <= 8


def test_list_daily_papers_ranks_an_imported_hugging_face_day_by_the_blended_score(
    site, server
):
    """Done-when check (issue 13): a real archived day imported, nobody voted here, and the
    official client lists it most upvoted first, in the order of the trending formula."""
    day = Path(__file__).parent / "data" / "ingest" / "hf-daily" / "2026-08-21.json.gz"
    assert import_daily_files(site.engine, day).inserted == 17
    with gzip.open(day, "rt", encoding="utf-8") as f:
        records = json.load(f)

    def blended(item: dict) -> float:  # upvotes + comments / 2 + stars per doubling + prior
        paper = item["paper"]
        stars = paper.get("githubStars")
        return (paper["upvotes"] + 0.5 * item.get("numComments", 0) + PRIOR
                + (STAR_WEIGHT * math.log2(1 + stars) if stars is not None else 0.0))

    # Ties (same score, same day) go to the higher arXiv id.
    ranked = sorted(records, key=lambda r: (blended(r), r["paper"]["id"]), reverse=True)
    expected = [r["paper"]["id"] for r in ranked]
    listed = list(HfApi(endpoint=server).list_daily_papers(date="2026-08-21", limit=100))
    assert ids(listed) == expected
    most_upvoted = max(records, key=lambda r: r["paper"]["upvotes"])["paper"]["id"]
    assert listed[0].id == most_upvoted == "2608.19880"
    assert listed[0].github_repo == "https://github.com/google-research/envharness"
    # githubStars as huggingface.co sends it: the archived count, null when it had none.
    stars = {r["paper"]["id"]: r["paper"].get("githubStars") for r in records}
    assert any(v is not None for v in stars.values()) and None in stars.values()
    assert {p.id: p.github_stars for p in listed} == stars
    info = HfApi(endpoint=server).paper_info("2608.19880")
    assert info.github_stars == stars["2608.19880"]
