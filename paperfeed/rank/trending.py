"""Trending: the score that ranks the papers of a window by recent community attention.

Documented on the about page (:data:`TRENDING_FORMULA`): for the papers of the window ending
on "today" (1, 7 or 30 announcement-calendar days),

    score = (upvotes + 0.5 * comments + 1) / (age_days + 2) ** 1.5

where ``age_days`` is the number of days between the paper's feed day and "today". The
``+ 1`` lets fresh papers without votes outrank equally quiet old ones; the gravity exponent
1.5 makes a vote today worth about 2.8 votes from four days ago. Ties go to the newer paper.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import Connection, func, select

from paperfeed.store.community_schema import submissions
from paperfeed.store.schema import papers

Window = Literal["day", "week", "month"]

WINDOW_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 30}
TRENDING_FORMULA = "score = (upvotes + 0.5 × comments + 1) / (age_days + 2)^1.5"
GRAVITY = 1.5


def trending_score(upvotes: int, num_comments: int, age_days: int) -> float:
    """The trending formula itself (see the module docstring)."""
    return (upvotes + 0.5 * num_comments + 1) / (max(age_days, 0) + 2) ** GRAVITY


def trending_ids(conn: Connection, cond, as_of: dt.date) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    """Ids of the papers matching ``cond`` with their trending score as of ``as_of``,
    best first."""
    feed_day = (
        select(func.max(submissions.c.feed_day))
        .where(submissions.c.paper_id == papers.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            papers.c.id, papers.c.arxiv_id, papers.c.upvotes, papers.c.num_comments,
            papers.c.announced_on, feed_day.label("feed_day"),
        ).where(cond)
    ).all()
    scored = []
    for r in rows:
        day = max(d for d in (r.announced_on, r.feed_day, dt.date.min) if d is not None)
        age = (as_of - day).days if day != dt.date.min else 365
        scored.append((trending_score(r.upvotes, r.num_comments, age), day, r.arxiv_id, r.id))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    return [(pid, score) for score, _, _, pid in scored]


__all__ = ["GRAVITY", "TRENDING_FORMULA", "WINDOW_DAYS", "Window", "trending_ids", "trending_score"]
