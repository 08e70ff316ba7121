"""Reports of comments: any signed-in reader flags a comment, admins work the queue.

One open report per reader and comment (a unique key; reporting again updates the reason).
An admin resolves every open report of a comment at once, by hiding it or dismissing the
reports. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from .comments import set_comment_hidden
from .community_schema import comments, users
from .database import dialect
from .discussion_schema import comment_reports
from .schema import papers

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class ReportedComment:
    """A comment in the moderation queue with its open reports."""

    comment_id: int
    arxiv_id: str
    author: str
    body: str
    hidden: bool
    reports: int
    reasons: list[str]
    first_reported_at: dt.datetime


def report_comment(conn: Connection, comment_id: int, reporter_id: int, reason: str) -> bool:
    """File (or re-file) the reader's report of a comment; False when there is no such
    comment."""
    if conn.execute(select(comments.c.id).where(comments.c.id == comment_id)).first() is None:
        return False
    reason = " ".join(reason.split())[:MAX_REASON]
    values = {"reason": reason, "created_at": dt.datetime.now(dt.UTC), "resolved_at": None,
              "resolution": None}
    conn.execute(dialect(conn).insert(comment_reports)
                 .values(comment_id=comment_id, reporter_id=reporter_id, **values)
                 .on_conflict_do_update(index_elements=["comment_id", "reporter_id"],
                                        set_=values))
    return True


def open_reports(conn: Connection, *, limit: int = 100) -> list[ReportedComment]:
    """Comments with open reports, the longest waiting first."""
    rows = conn.execute(
        select(comment_reports.c.comment_id, comment_reports.c.reason,
               comment_reports.c.created_at, comments.c.body, comments.c.hidden,
               users.c.username, papers.c.arxiv_id)
        .join(comments, comments.c.id == comment_reports.c.comment_id)
        .join(users, users.c.id == comments.c.user_id)
        .join(papers, papers.c.id == comments.c.paper_id)
        .where(comment_reports.c.resolved_at.is_(None))
        .order_by(comment_reports.c.created_at, comment_reports.c.id)
    ).all()
    queue: dict[int, ReportedComment] = {}
    for r in rows:
        found = queue.get(r.comment_id)
        if found is None:
            if len(queue) >= limit:
                continue
            found = queue[r.comment_id] = ReportedComment(
                r.comment_id, r.arxiv_id, r.username, r.body, bool(r.hidden), 0, [],
                r.created_at)
        queue[r.comment_id] = ReportedComment(
            found.comment_id, found.arxiv_id, found.author, found.body, found.hidden,
            found.reports + 1, found.reasons + ([r.reason] if r.reason else []),
            found.first_reported_at)
    return list(queue.values())


def open_report_count(conn: Connection) -> int:
    """How many comments wait in the moderation queue."""
    return int(conn.execute(select(func.count(func.distinct(comment_reports.c.comment_id)))
                            .where(comment_reports.c.resolved_at.is_(None))).scalar_one())


def resolve_reports(conn: Connection, comment_id: int, *, hide: bool) -> bool:
    """Close the comment's open reports, hiding the comment (``hide``) or dismissing them;
    False when the comment has no open report."""
    result = conn.execute(
        update(comment_reports)
        .where(comment_reports.c.comment_id == comment_id,
               comment_reports.c.resolved_at.is_(None))
        .values(resolved_at=dt.datetime.now(dt.UTC), resolution="hidden" if hide else "dismissed")
    )
    if result.rowcount and hide:
        set_comment_hidden(conn, comment_id, True)
    return bool(result.rowcount)
