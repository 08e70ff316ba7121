"""Submissions: a user puts a paper on the feed of the day they submit it.

Rules (stated on the submit page): a paper is submitted at most once (the first submitter
keeps it); it must have been first announced or posted at most ``max_age_days`` before the
site's "today"; hidden papers cannot be submitted. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from .community_schema import submissions, users
from .data_version import bump_data_version
from .schema import papers


class SubmissionRefused(ValueError):
    """A submission the rules refuse; the message is safe to show."""

    def __init__(self, message: str, *, arxiv_id: str | None = None) -> None:
        super().__init__(message)
        self.arxiv_id = arxiv_id


@dataclass(frozen=True, slots=True)
class Submission:
    paper_id: int
    arxiv_id: str
    username: str
    feed_day: dt.date
    created_at: dt.datetime


def get_submission(conn: Connection, paper_id: int) -> Submission | None:
    """Who submitted the paper and when, or None."""
    row = conn.execute(
        select(submissions, users.c.username, papers.c.arxiv_id)
        .join(users, users.c.id == submissions.c.user_id)
        .join(papers, papers.c.id == submissions.c.paper_id)
        .where(submissions.c.paper_id == paper_id)
    ).first()
    if row is None:
        return None
    return Submission(row.paper_id, row.arxiv_id, row.username, row.feed_day, row.created_at)


def check_submittable(
    conn: Connection, arxiv_id: str, *, today: dt.date, max_age_days: int
) -> int | None:
    """The paper id when the paper is known and may be submitted, None when it is unknown
    (the caller fetches it from arXiv, then calls :func:`check_age` and
    :func:`record_submission`). Raises SubmissionRefused for a duplicate, hidden or old one."""
    row = conn.execute(
        select(papers.c.id, papers.c.hidden, papers.c.announced_on, papers.c.submitted_at)
        .where(papers.c.arxiv_id == arxiv_id)
    ).first()
    if row is None:
        return None
    if row.hidden:
        raise SubmissionRefused("This paper cannot be submitted.", arxiv_id=None)
    existing = get_submission(conn, row.id)
    if existing:
        raise SubmissionRefused(
            f"Already submitted by {existing.username} on {existing.feed_day.isoformat()}.",
            arxiv_id=arxiv_id,
        )
    check_age(row.announced_on, row.submitted_at, today=today, max_age_days=max_age_days)
    return int(row.id)


def check_age(
    announced_on: dt.date | None, submitted_at: dt.datetime | None, *, today: dt.date,
    max_age_days: int,
) -> None:
    """Raise SubmissionRefused when the paper is older than ``max_age_days`` before today."""
    first = announced_on or (submitted_at.date() if submitted_at else None)
    if first is not None and (today - first).days > max_age_days:
        raise SubmissionRefused(
            f"Only papers from the last {max_age_days} days can be submitted "
            f"(this one is from {first.isoformat()})."
        )


def record_submission(conn: Connection, paper_id: int, user_id: int, feed_day: dt.date) -> None:
    """Put the paper on ``feed_day``'s feed as the user's submission. Raises
    SubmissionRefused when someone submitted it first."""
    if get_submission(conn, paper_id):
        raise SubmissionRefused("Someone submitted this paper a moment ago.")
    conn.execute(
        submissions.insert().values(
            paper_id=paper_id, user_id=user_id, feed_day=feed_day,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    bump_data_version(conn)


def withdraw_submission(conn: Connection, paper_id: int, user_id: int) -> bool:
    """Take back the user's own submission of the paper; False when they have none. The
    paper stays in the store (and in the feed of the day it was announced)."""
    result = conn.execute(
        delete(submissions).where(
            submissions.c.paper_id == paper_id, submissions.c.user_id == user_id
        )
    )
    if result.rowcount:
        bump_data_version(conn)
    return result.rowcount == 1


def user_submission_ids(conn: Connection, user_id: int, *, limit: int = 100) -> list[int]:
    """Paper ids the user submitted (visible ones), newest first."""
    return list(
        conn.execute(
            select(submissions.c.paper_id)
            .join(papers, papers.c.id == submissions.c.paper_id)
            .where(submissions.c.user_id == user_id, papers.c.hidden.is_(False))
            .order_by(submissions.c.created_at.desc())
            .limit(limit)
        ).scalars()
    )
