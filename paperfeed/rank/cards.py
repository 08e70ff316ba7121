"""Cards: what a listing shows of one paper, loaded for many papers in a few queries.

Every listing (feeds, search hits, similar papers, collections, digests) renders
:class:`PaperCard` values built by :func:`load_cards`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from paperfeed.index.summaries import get_summaries
from paperfeed.safe_urls import safe_url
from paperfeed.store.community_schema import submissions, users
from paperfeed.store.schema import paper_categories, paper_links, paper_signals, papers


@dataclass(frozen=True, slots=True)
class PaperCard:
    """What a listing shows of one paper (no full author records, no versions)."""

    id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    primary_category: str | None
    categories: tuple[str, ...]
    announced_on: dt.date | None
    submitted_at: dt.datetime | None
    upvotes: int
    num_comments: int
    code_url: str | None = None
    project_url: str | None = None
    submitted_by: str | None = None  # username of the submitter, if a user submitted it
    feed_day: dt.date | None = None  # the day it joined the feed (submission or announcement)
    score: float = 0.0  # trending score; 0 for vote-ranked listings
    # TL;DR and keywords (index/summaries.py); sources "hf" or the extractive method
    tldr: str = ""
    tldr_source: str | None = None
    keywords: tuple[str, ...] = ()
    keywords_source: str | None = None
    hf_upvotes: int | None = None  # upvotes on Hugging Face's daily papers, when ingested
    github_stars: int | None = None  # stars of the code repository, as Hugging Face reported


def load_cards(conn: Connection, paper_ids: Sequence[int]) -> dict[int, PaperCard]:
    """Cards by paper id (hidden papers included: callers choose what to list).

    Four queries whatever the number of ids: papers with their submitter, their
    categories, their links, and the Hugging Face signals (repo, project page, upvotes,
    GitHub stars).
    """
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(
            papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract,
            papers.c.authors_text, papers.c.primary_category, papers.c.announced_on,
            papers.c.submitted_at, papers.c.upvotes, papers.c.num_comments,
            users.c.username, submissions.c.feed_day,
        )
        .select_from(
            papers.outerjoin(submissions, submissions.c.paper_id == papers.c.id)
            .outerjoin(users, users.c.id == submissions.c.user_id)
        )
        .where(papers.c.id.in_(ids))
    ).all()
    cats: dict[int, list[tuple[bool, str]]] = {}
    for r in conn.execute(
        select(paper_categories).where(paper_categories.c.paper_id.in_(ids))
    ):
        cats.setdefault(r.paper_id, []).append((not r.is_primary, r.category))
    links: dict[int, dict[str, str]] = {}
    for r in conn.execute(
        select(paper_links.c.paper_id, paper_links.c.url, paper_links.c.kind)
        .where(paper_links.c.paper_id.in_(ids), paper_links.c.kind.in_(["code", "project"]))
        .order_by(paper_links.c.paper_id, paper_links.c.url)
    ):
        links.setdefault(r.paper_id, {}).setdefault(r.kind, r.url)
    counts: dict[int, dict[str, int]] = {}
    for r in conn.execute(
        select(paper_signals.c.paper_id, paper_signals.c.kind, paper_signals.c.value).where(
            paper_signals.c.paper_id.in_(ids),
            paper_signals.c.kind.in_(["github_repo", "project_page", "upvotes", "github_stars"]),
            paper_signals.c.source == "hf",
        )
    ):
        if r.kind in ("upvotes", "github_stars"):
            if str(r.value).strip().isdigit():
                counts.setdefault(r.paper_id, {})[r.kind] = int(r.value)
            continue
        kind = "code" if r.kind == "github_repo" else "project"
        links.setdefault(r.paper_id, {})[kind] = r.value
    summaries = get_summaries(conn, ids)
    out: dict[int, PaperCard] = {}
    for r in rows:
        found = links.get(r.id, {})
        summary = summaries.get(r.id)
        out[r.id] = PaperCard(
            id=r.id,
            arxiv_id=r.arxiv_id,
            title=r.title,
            abstract=r.abstract,
            authors=tuple(a for a in r.authors_text.split(", ") if a),
            primary_category=r.primary_category,
            categories=tuple(c for _, c in sorted(cats.get(r.id, []))),
            announced_on=r.announced_on,
            submitted_at=r.submitted_at,
            upvotes=r.upvotes,
            num_comments=r.num_comments,
            code_url=safe_url(found.get("code")),  # http(s) only, whoever stored it
            project_url=safe_url(found.get("project")),
            submitted_by=r.username,
            feed_day=r.feed_day or r.announced_on,
            tldr=summary.tldr if summary else "",
            tldr_source=summary.tldr_source if summary else None,
            keywords=summary.keywords if summary else (),
            keywords_source=summary.keywords_source if summary else None,
            hf_upvotes=counts.get(r.id, {}).get("upvotes"),
            github_stars=counts.get(r.id, {}).get("github_stars"),
        )
    return out


def load_cards_by_arxiv_id(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, PaperCard]:
    """Cards keyed by arXiv id (e.g. for search hits or similar papers); hidden left out."""
    ids = list(
        conn.execute(
            select(papers.c.id).where(
                papers.c.arxiv_id.in_(list(arxiv_ids)), papers.c.hidden.is_(False)
            )
        ).scalars()
    )
    return {card.arxiv_id: card for card in load_cards(conn, ids).values()}


__all__ = ["PaperCard", "load_cards", "load_cards_by_arxiv_id"]
