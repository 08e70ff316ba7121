"""Trending: one score for the papers of a window, from the events inside the window.

The daily / weekly / monthly pages, /trending, the JSON API (``sort=trending``), the Atom
feeds and the email digests all rank with :func:`score_window`; the about page and
docs/search.md show :data:`TRENDING_FORMULA` and explain the constants below.

For the papers of a window (its first .. last day), events are the dated signs of attention
of :mod:`paperfeed.store.events`: local votes, comments, collection saves and submissions,
and the upvotes, comments and GitHub stars that Hugging Face's daily listing reported on the
day it featured the paper. Then

    score = Σ weight(kind) · count · 2^(−age / h)  +  PRIOR · 2^(−paper_age / h)

- ``age``: days from the event to the window's last day (0 for events on or after it);
  ``paper_age``: days from the paper's feed day (announcement or submission) to that day.
- ``h``, the half-life: half the window, at least one day (day 1, week 3.5, month 15 days):
  an event loses half its weight every half-window, so the window's end weighs most while
  its whole span still counts.
- weights (:data:`WEIGHTS`): an upvote here or on Hugging Face, a save and a submission
  count 1; a comment (here or there) 0.5, it is often a question rather than praise. GitHub
  stars count :data:`STAR_WEIGHT` per doubling (0.5 · log2(1 + stars)): a repository with
  1,000 stars weighs like 5 upvotes, so old famous repos cannot drown the day's papers.
- the prior: :data:`PRIOR` (0.5, half an upvote) decayed with the paper's age, so papers
  nobody has reacted to yet come newest first, and one upvote beats any prior.
- which events: those dated from the window's first day to :data:`LATE_DAYS` (3) days after
  its last, because attention trails announcement (Hugging Face features a paper 0–3 days
  after arXiv lists it). A past window is scored with those events only, never with today's
  totals; a window whose late days reach "today" (the newest announcement day) is still open
  and counts every event up to now.

Ties go to the newer paper, then to the higher arXiv id.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, Connection, func, select

from paperfeed.store.community_schema import submissions
from paperfeed.store.events import PaperEvent, paper_events
from paperfeed.store.schema import papers

Window = Literal["day", "week", "month"]

WINDOW_DAYS: dict[Window, int] = {"day": 1, "week": 7, "month": 30}
WEIGHTS: dict[str, float] = {
    "vote": 1.0, "hf_upvotes": 1.0, "save": 1.0, "submission": 1.0,
    "comment": 0.5, "hf_comments": 0.5,
}
STAR_WEIGHT = 0.5
PRIOR = 0.5
LATE_DAYS = 3
TRENDING_FORMULA = (
    "score = Σ weight × count × 2^(−age / h) + 0.5 × 2^(−paper_age / h)"
)


@dataclass(frozen=True, slots=True)
class TrendingWindow:
    """The days a trending score looks at: papers of ``start`` .. ``end``; ``today`` is the
    newest announcement day (None on an empty site), which decides whether it is open."""

    start: dt.date
    end: dt.date
    today: dt.date | None

    @property
    def half_life(self) -> float:
        """Half the window in days, at least 1."""
        return max(1.0, ((self.end - self.start).days + 1) / 2)

    @property
    def last_event_day(self) -> dt.date | None:
        """The last day whose events count; None while the window is open."""
        last = self.end + dt.timedelta(days=LATE_DAYS)
        return None if self.today is None or last >= self.today else last


@dataclass(frozen=True, slots=True)
class Scored:
    """A paper's trending score in a window, with what breaks ties."""

    paper_id: int
    score: float
    feed_day: dt.date | None
    arxiv_id: str


def event_weight(event: PaperEvent) -> float:
    """What one :class:`PaperEvent` adds before decay (see the module docstring)."""
    if event.kind == "github_stars":
        return STAR_WEIGHT * math.log2(1 + event.count)
    return WEIGHTS.get(event.kind, 0.0) * event.count


def decay(days: int, half_life: float) -> float:
    """2^(−days / half_life); days before 0 count as 0."""
    return 0.5 ** (max(days, 0) / half_life)


def score_window(
    conn: Connection, cond: ColumnElement[bool], window: TrendingWindow
) -> list[Scored]:
    """The papers matching ``cond`` scored by :data:`TRENDING_FORMULA` over ``window``,
    best first. The one trending score every listing, feed, API and digest uses. Reads only."""
    feed_day = (
        select(func.max(submissions.c.feed_day))
        .where(submissions.c.paper_id == papers.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(papers.c.id, papers.c.arxiv_id, papers.c.announced_on, feed_day.label("feed_day"))
        .where(cond)
    ).all()
    if not rows:
        return []
    h = window.half_life
    scores: dict[int, float] = {}
    days: dict[int, dt.date | None] = {}
    for r in rows:
        day = max((d for d in (r.announced_on, r.feed_day) if d is not None), default=None)
        days[r.id] = day
        age = (window.end - day).days if day is not None else 365
        scores[r.id] = PRIOR * decay(age, h)
    ids = select(papers.c.id).where(cond)
    for event in paper_events(conn, ids, window.start, window.last_event_day):
        if event.paper_id in scores:
            scores[event.paper_id] += event_weight(event) * decay((window.end - event.day).days, h)
    scored = [Scored(r.id, scores[r.id], days[r.id], r.arxiv_id) for r in rows]
    scored.sort(key=lambda s: (s.score, s.feed_day or dt.date.min, s.arxiv_id), reverse=True)
    return scored


__all__ = [
    "LATE_DAYS",
    "PRIOR",
    "STAR_WEIGHT",
    "TRENDING_FORMULA",
    "WEIGHTS",
    "WINDOW_DAYS",
    "Scored",
    "TrendingWindow",
    "Window",
    "decay",
    "event_weight",
    "score_window",
]
