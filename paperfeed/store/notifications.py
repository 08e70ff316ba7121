"""In-app notifications about comments: replies to mine, @mentions of me, and comments on
papers I submitted; each person's email preferences for them.

:func:`record_comment_notifications` runs in the transaction that writes the comment, so a
notification exists exactly when its comment does. At most one notification per person and
comment (a unique key): a reply that also @mentions its parent's author is one "reply", and
re-running the recording after an edit adds only newly mentioned people. How a notification
is mailed (``email_status``) is paperfeed.mail.notifying's business. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from paperfeed.comment_markup import mentioned_usernames

from .comments import get_comment
from .community_schema import comments, submissions, users
from .database import dialect
from .discussion_schema import notification_preferences, notifications
from .schema import papers

KINDS = ("reply", "mention", "submission")  # in order of precedence
# Only the first few @names of a comment notify: one comment cannot mail the whole site.
MAX_MENTIONS = 10
BATCHES = ("instant", "daily")


@dataclass(frozen=True, slots=True)
class NewNotification:
    id: int
    user_id: int
    kind: str


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    kind: str
    comment_id: int
    actor: str  # username of who wrote the comment ("" when that account is gone)
    arxiv_id: str
    paper_title: str
    excerpt: str  # the comment's first characters, Markdown source
    created_at: dt.datetime
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Preferences:
    """Which notifications a person also wants by email, and whether at once or as one
    digest a day. In-app notifications are always kept."""

    email_replies: bool = True
    email_mentions: bool = True
    email_submissions: bool = True
    email_batch: str = "instant"

    def wants_email(self, kind: str) -> bool:
        return {"reply": self.email_replies, "mention": self.email_mentions,
                "submission": self.email_submissions}.get(kind, False)


def known_usernames(conn: Connection, names: list[str] | set[str]) -> set[str]:
    """The given (lower-case) usernames that belong to enabled accounts."""
    if not names:
        return set()
    return set(conn.execute(select(users.c.username).where(
        users.c.username.in_(sorted(names)), users.c.disabled.is_(False))).scalars())


def record_comment_notifications(conn: Connection, comment_id: int) -> list[NewNotification]:
    """Notify the parent comment's author (reply), each @mentioned user (mention) and the
    paper's submitter (submission) about comment ``comment_id``, never its own author and
    never anyone twice for one comment. Returns the notifications created now."""
    comment = get_comment(conn, comment_id)
    if comment is None or comment.hidden:
        return []
    wanted: dict[int, str] = {}
    if comment.parent_id is not None:
        parent = get_comment(conn, comment.parent_id)
        if parent is not None:
            wanted[parent.user_id] = "reply"
    mentioned = known_usernames(conn, set(mentioned_usernames(comment.body)[:MAX_MENTIONS]))
    if mentioned:
        for uid in conn.execute(select(users.c.id).where(users.c.username.in_(sorted(mentioned)))
                                ).scalars():
            wanted.setdefault(int(uid), "mention")
    submitter = conn.execute(select(submissions.c.user_id).where(
        submissions.c.paper_id == comment.paper_id)).scalar_one_or_none()
    if submitter is not None:
        wanted.setdefault(int(submitter), "submission")
    wanted.pop(comment.user_id, None)
    created = []
    now = dt.datetime.now(dt.UTC)
    for user_id, kind in wanted.items():
        new_id = conn.execute(
            dialect(conn).insert(notifications)
            .values(user_id=user_id, kind=kind, comment_id=comment.id,
                    paper_id=comment.paper_id, actor_id=comment.user_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "comment_id"])
            .returning(notifications.c.id)
        ).scalar_one_or_none()
        if new_id is not None:
            created.append(NewNotification(int(new_id), user_id, kind))
    return created


def unread_count(conn: Connection, user_id: int) -> int:
    """How many of the user's notifications about visible comments are unread (the header
    bell; the same ones /notifications lists)."""
    return int(conn.execute(
        select(func.count()).select_from(notifications)
        .join(comments, comments.c.id == notifications.c.comment_id)
        .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None),
               comments.c.hidden.is_(False))).scalar_one())


def list_notifications(conn: Connection, user_id: int, *, limit: int = 50,
                       ids: list[int] | None = None) -> list[Notification]:
    """The user's newest notifications (or those with ``ids``), newest first, about
    comments that are still visible."""
    stmt = (
        select(notifications, comments.c.body, papers.c.arxiv_id, papers.c.title,
               users.c.username)
        .join(comments, comments.c.id == notifications.c.comment_id)
        .join(papers, papers.c.id == notifications.c.paper_id)
        .outerjoin(users, users.c.id == notifications.c.actor_id)
        .where(notifications.c.user_id == user_id, comments.c.hidden.is_(False))
        .order_by(notifications.c.id.desc())
        .limit(limit)
    )
    if ids is not None:
        stmt = stmt.where(notifications.c.id.in_(ids))
    return [
        Notification(id=r.id, kind=r.kind, comment_id=r.comment_id, actor=r.username or "",
                     arxiv_id=r.arxiv_id, paper_title=r.title, excerpt=_excerpt(r.body),
                     created_at=r.created_at, read_at=r.read_at)
        for r in conn.execute(stmt)
    ]


def _excerpt(body: str, limit: int = 280) -> str:
    text = " ".join(body.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def mark_read(conn: Connection, user_id: int, ids: list[int] | None = None) -> int:
    """Mark the user's notifications (all, or those with ``ids``) read; returns how many."""
    stmt = update(notifications).where(notifications.c.user_id == user_id,
                                       notifications.c.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(notifications.c.id.in_(ids))
    return conn.execute(stmt.values(read_at=dt.datetime.now(dt.UTC))).rowcount


def set_email_status(conn: Connection, ids: list[int], status: str) -> None:
    """Record how notifications ``ids`` are mailed (none / queued / pending / digested)."""
    if ids:
        conn.execute(update(notifications).where(notifications.c.id.in_(ids))
                     .values(email_status=status))


def pending_email_users(conn: Connection) -> list[int]:
    """Users with notifications waiting for their daily digest."""
    return list(conn.execute(select(notifications.c.user_id).distinct().where(
        notifications.c.email_status == "pending").order_by(notifications.c.user_id)).scalars())


def pending_email_ids(conn: Connection, user_id: int) -> list[int]:
    return list(conn.execute(select(notifications.c.id).where(
        notifications.c.user_id == user_id, notifications.c.email_status == "pending")
        .order_by(notifications.c.id)).scalars())


def get_preferences(conn: Connection, user_id: int) -> Preferences:
    """The user's notification email preferences (the defaults when never saved)."""
    row = conn.execute(select(notification_preferences).where(
        notification_preferences.c.user_id == user_id)).first()
    if row is None:
        return Preferences()
    return Preferences(bool(row.email_replies), bool(row.email_mentions),
                       bool(row.email_submissions), row.email_batch)


def save_preferences(conn: Connection, user_id: int, prefs: Preferences) -> None:
    """Store the user's preferences (``email_batch`` must be one of BATCHES)."""
    if prefs.email_batch not in BATCHES:
        raise ValueError(f"email_batch must be one of {BATCHES}")
    values = {"email_replies": prefs.email_replies, "email_mentions": prefs.email_mentions,
              "email_submissions": prefs.email_submissions, "email_batch": prefs.email_batch}
    conn.execute(dialect(conn).insert(notification_preferences)
                 .values(user_id=user_id, **values)
                 .on_conflict_do_update(index_elements=["user_id"], set_=values))
