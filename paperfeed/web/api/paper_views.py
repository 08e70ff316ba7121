"""Turning rank/store records (PaperCard, Paper) into the API's Hugging Face-shaped objects.

One extra query per page of results fetches who submitted which paper and when, so a
listing of 100 papers costs the same few queries as a listing of 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from paperfeed.days import midnight
from paperfeed.models import Paper
from paperfeed.rank.cards import PaperCard
from paperfeed.safe_urls import safe_url
from paperfeed.store.community_schema import submissions, users
from paperfeed.store.schema import papers

from .schemas import DailyPaper, HfAuthor, HfPaper, HfUser, PaperDetail


@dataclass(frozen=True, slots=True)
class SubmissionFact:
    """Who put a paper on the feed, on which day, at what time."""

    user: HfUser
    feed_day: dt.date
    created_at: dt.datetime


def hf_user(username: str, display_name: str = "") -> HfUser:
    """The public face of a user: username and display name only."""
    return HfUser(
        user=username, name=username, fullname=display_name or username, avatarUrl=""
    )


def _day_start(day: dt.date | None) -> dt.datetime | None:
    return midnight(day) if day else None


def load_submissions(conn: Connection, paper_ids: Sequence[int]) -> dict[int, SubmissionFact]:
    """paper id -> its submission (submitter, feed day, time), for those that have one."""
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(
            submissions.c.paper_id, submissions.c.feed_day, submissions.c.created_at,
            users.c.username, users.c.display_name,
        )
        .join(users, users.c.id == submissions.c.user_id)
        .where(submissions.c.paper_id.in_(ids))
    ).all()
    return {
        r.paper_id: SubmissionFact(
            hf_user(r.username, r.display_name), r.feed_day,
            r.created_at or dt.datetime.combine(r.feed_day, dt.time(0), tzinfo=dt.UTC),
        )
        for r in rows
    }


class PaperViews:
    """Builds API objects for one request: knows the site's base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def paper_url(self, arxiv_id: str) -> str:
        """The paper's page on this site."""
        return f"{self.base_url}/papers/{arxiv_id}"

    def from_card(self, card: PaperCard, submission: SubmissionFact | None) -> HfPaper:
        """The ``paper`` object of a listing item."""
        joined = submission.created_at if submission else _day_start(card.feed_day)
        return HfPaper(
            id=card.arxiv_id,
            authors=[HfAuthor(name=name, affiliation=None) for name in card.authors],
            publishedAt=card.submitted_at or _day_start(card.announced_on) or joined,  # type: ignore[arg-type]
            submittedOnDailyAt=joined,
            submittedOnDailyBy=submission.user if submission else None,
            title=card.title,
            summary=card.abstract,
            upvotes=card.upvotes,
            discussionId=str(card.id),
            projectPage=safe_url(card.project_url),
            githubRepo=safe_url(card.code_url),
            githubStars=card.github_stars,
            ai_summary=card.tldr or None,
            ai_keywords=list(card.keywords),
            ai_summary_source=card.tldr_source if card.tldr else None,
            ai_keywords_source=card.keywords_source if card.keywords else None,
            numComments=card.num_comments,
            categories=list(card.categories),
            primaryCategory=card.primary_category,
            arxivUrl=f"https://arxiv.org/abs/{card.arxiv_id}",
            pdfUrl=f"https://arxiv.org/pdf/{card.arxiv_id}",
            url=self.paper_url(card.arxiv_id),
        )

    def daily_items(
        self,
        conn: Connection,
        cards: Sequence[PaperCard],
        *,
        scores: Sequence[float | None] | None = None,
        snippets: Sequence[str | None] | None = None,
    ) -> list[DailyPaper]:
        """Hugging Face daily-papers items for ``cards``, in order."""
        subs = load_submissions(conn, [c.id for c in cards])
        items = []
        for i, card in enumerate(cards):
            paper = self.from_card(card, subs.get(card.id))
            sub = subs.get(card.id)
            items.append(
                DailyPaper(
                    paper=paper,
                    publishedAt=paper.submittedOnDailyAt or paper.publishedAt,
                    title=card.title,
                    summary=card.abstract,
                    numComments=card.num_comments,
                    submittedBy=sub.user if sub else None,
                    githubRepo=paper.githubRepo,
                    githubStars=paper.githubStars,
                    projectPage=paper.projectPage,
                    ai_summary=paper.ai_summary,
                    ai_keywords=paper.ai_keywords,
                    upvotes=card.upvotes,
                    score=scores[i] if scores is not None else None,
                    snippet=snippets[i] if snippets is not None else None,
                    reasons=None,
                )
            )
        return items

    def detail(self, conn: Connection, paper: Paper, card: PaperCard) -> PaperDetail:
        """The flat ``/api/papers/{id}`` object: the card plus the full record's fields."""
        sub = load_submissions(conn, [card.id]).get(card.id)
        base = self.from_card(card, sub).model_dump()
        base["authors"] = [HfAuthor(name=a.name, affiliation=a.affiliation) for a in paper.authors]
        base["categories"] = list(paper.categories) or base["categories"]
        return PaperDetail(
            **base,
            arxivComment=paper.comments,
            journalRef=paper.journal_ref,
            doi=paper.doi,
            license=paper.license,
            latestVersion=paper.latest_version,
            updatedAt=paper.updated_at,
        )


def visible_paper_id(conn: Connection, arxiv_id: str) -> int | None:
    """The row id of a paper that exists and is not hidden, else None."""
    return conn.execute(
        select(papers.c.id).where(papers.c.arxiv_id == arxiv_id, papers.c.hidden.is_(False))
    ).scalar_one_or_none()
