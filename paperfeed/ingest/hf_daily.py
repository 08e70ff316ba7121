"""Hugging Face daily papers: ``GET /api/daily_papers?date=YYYY-MM-DD``.

Each element is ``{"paper": {...}, "title", "publishedAt", "numComments", "submittedBy",
...}``, the shape huggingface_hub's ``PaperInfo`` reads (some fields sit in ``paper``,
some beside it, depending on the endpoint; both places are read here). The paper's
arXiv id, title, abstract, authors and first publication land as a Paper (source 'hf');
what the community on Hugging Face says — upvotes, comments, submitter, GitHub repo and
stars, project page, AI keywords and summary, organization — is kept as signals tagged
``hf`` and observed on the day asked, and the repo / project page also as links. The day
a paper was featured is an upper bound of its arXiv announcement day, so it stands in as
``announced_on`` until (the earlier) arXiv day arrives. A date range is read day by day,
each day committed with its checkpoint.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, Engine

from paperfeed.models import Author, ImportSummary, Link, Paper, Rejected, Signal, Version
from paperfeed.safe_urls import safe_url
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import AuthorIds, load_papers, merge_papers

from .normalize import (
    InvalidRecord,
    check_date,
    classify_link,
    clean_text,
    find_links,
    normalize_arxiv_id,
    parse_datetime,
)
from .pages import Progress, finish_run, record_rejection, saved_cursor, store_page
from .upstream import Upstream, UpstreamError

SOURCE = "hf"
PAGE_LIMIT = 100


def _field(item: dict[str, Any], paper: dict[str, Any], *names: str) -> Any:
    """The first non-empty value of ``names`` in ``paper``, then in the item itself."""
    for where in (paper, item):
        for name in names:
            value = where.get(name)
            if value not in (None, "", []):
                return value
    return None


def _username(user: Any) -> str | None:
    if isinstance(user, dict):
        name = user.get("user") or user.get("name") or user.get("fullname")
        return str(name) if name else None
    return None


def paper_from_daily(item: Any, day: dt.date) -> Paper:
    """One /api/daily_papers element -> Paper with hf signals, or InvalidRecord."""
    if not isinstance(item, dict):
        raise InvalidRecord("not a JSON object")
    nested = item.get("paper")
    paper: dict[str, Any] = nested if isinstance(nested, dict) else {}
    raw_id = _field(item, paper, "id")
    if not isinstance(raw_id, str):
        raise InvalidRecord("missing id")
    arxiv_id = normalize_arxiv_id(raw_id)
    title = clean_text(_field(item, paper, "title") or "")
    if not title:
        raise InvalidRecord(f"{arxiv_id}: missing title")
    published = parse_datetime(_field(item, paper, "publishedAt"), "publishedAt")
    authors = []
    for entry in _field(item, paper, "authors") or []:
        name = clean_text(entry.get("name") if isinstance(entry, dict) else str(entry))
        if name and not (isinstance(entry, dict) and entry.get("hidden")):
            authors.append(Author(name))
    abstract = clean_text(_field(item, paper, "summary") or "")
    signals: list[Signal] = []

    def signal(kind: str, value: Any) -> None:
        if value not in (None, "", []):
            signals.append(Signal(SOURCE, kind, str(value), day))

    signal("upvotes", _field(item, paper, "upvotes"))
    comments = item.get("numComments", paper.get("numComments"))
    signal("comments", comments)
    signal("submitter", _username(_field(item, paper, "submittedOnDailyBy", "submittedBy")))
    repo = safe_url(_field(item, paper, "githubRepo"))  # http(s) only: they become links
    project = safe_url(_field(item, paper, "projectPage"))
    signal("github_repo", repo)
    signal("github_stars", _field(item, paper, "githubStars"))
    signal("project_page", project)
    keywords = _field(item, paper, "ai_keywords")
    if isinstance(keywords, list):
        signal("ai_keywords", json.dumps([str(k) for k in keywords], ensure_ascii=False))
    signal("ai_summary", clean_text(_field(item, paper, "ai_summary") or ""))
    organization = _field(item, paper, "organization")
    if isinstance(organization, dict):
        signal("organization", organization.get("name") or organization.get("fullname"))
    signal("discussion_id", _field(item, paper, "discussionId"))
    links = [Link(repo, "code")] if repo else []
    if project and project != repo:
        kind = classify_link(project)
        links.append(Link(project, "project" if kind == "other" else kind))
    links += [link for link in find_links(abstract) if link.url not in {x.url for x in links}]
    check_date(day, "daily papers date")
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=authors,
        submitted_at=published,
        announced_on=day,
        versions=[Version(1, published)] if published else [],
        links=links,
        signals=signals,
        source=SOURCE,
    )


def decode_daily_list(body: bytes | str) -> list[Any]:
    """The items of a /api/daily_papers reply (a JSON list). Raises InvalidRecord."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidRecord(f"bad JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidRecord("reply is not a JSON list")
    return data


def parse_daily_papers(body: bytes | str, day: dt.date) -> list[Paper | Rejected]:
    """A /api/daily_papers reply -> Papers and Rejected ('paper 3 of 2025-04-28').
    Raises InvalidRecord when the reply is not a JSON list."""
    data = decode_daily_list(body)
    items: list[Paper | Rejected] = []
    for number, item in enumerate(data, start=1):
        try:
            items.append(paper_from_daily(item, day))
        except InvalidRecord as exc:
            items.append(Rejected(f"paper {number} of {day.isoformat()}", str(exc)))
    return items


def defer_to_stored(conn: Connection, papers: list[Paper]) -> list[Paper]:
    """Hugging Face's copy of a paper is second-hand: where the store has the paper from
    another source (arXiv, a bulk file), its text, authors and dates stay, and HF adds
    its signals (fresh values replacing older hf ones), links and, if earlier, its day.
    Reads only; no writes."""
    stored = load_papers(conn, [p.arxiv_id for p in papers])
    out = []
    for paper in papers:
        known = stored.get(paper.arxiv_id)
        if known is None or known.source == SOURCE:
            out.append(paper)
            continue
        merged = merge_papers(paper, known)
        signals = {(s.source, s.kind): s for s in merged.signals}
        signals.update({(s.source, s.kind): s for s in paper.signals})
        merged.signals = [signals[k] for k in sorted(signals)]
        merged.source = known.source
        out.append(merged)
    return out


def fetch_day(client: Upstream, hf_url: str, day: dt.date) -> list[Paper | Rejected]:
    """Every daily paper of ``day`` (following pages of PAGE_LIMIT). Raises UpstreamError."""
    items: list[Paper | Rejected] = []
    page = 0
    while True:
        params: dict[str, str | int] = {"date": day.isoformat(), "limit": PAGE_LIMIT}
        if page:
            params["p"] = page
        fetched = client.get(f"{hf_url.rstrip('/')}/api/daily_papers", params, expect="json")
        try:
            batch = parse_daily_papers(fetched.body, day)
        except InvalidRecord as exc:
            raise UpstreamError(fetched.url, str(exc)) from exc
        items += batch
        if len(batch) < PAGE_LIMIT:
            return items
        page += 1


def ingest_daily_papers(
    engine: Engine,
    client: Upstream,
    *,
    hf_url: str,
    first_day: dt.date,
    last_day: dt.date | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Read the daily papers of every day in [first_day, last_day] into the store.

    Output: this run's summary. Side effects: each day committed with the checkpoint
    (source 'hf', key 'first..last', cursor = last day done); cleared at the end. A day
    that cannot be fetched after retries stops the run with an error; rerun continues.
    """
    last_day = last_day or first_day
    key = f"{first_day.isoformat()}..{last_day.isoformat()}"
    summary = ImportSummary()
    author_ids = AuthorIds()
    done = saved_cursor(engine, SOURCE, key)
    day = dt.date.fromisoformat(done) + dt.timedelta(days=1) if done else first_day
    total = (last_day - first_day).days + 1
    while day <= last_day:
        try:
            items = fetch_day(client, hf_url, day)
        except UpstreamError as exc:
            summary.errors.append(f"HF daily papers {day}: {exc} (rerun to continue from here)")
            return summary
        papers = [item for item in items if isinstance(item, Paper)]
        with write_transaction(engine) as conn:
            papers = defer_to_stored(conn, papers)
            summary.add(
                store_page(
                    conn, papers, source=SOURCE, key=key, cursor=day.isoformat(),
                    author_ids=author_ids,
                )
            )
        for item in items:
            if isinstance(item, Rejected):
                record_rejection(summary, item)
        if progress:
            progress((day - first_day).days + 1, total)
        day += dt.timedelta(days=1)
    finish_run(engine, SOURCE, key)
    return summary
