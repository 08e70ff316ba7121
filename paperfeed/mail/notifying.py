"""Notifications about comments, in-app and by email, through the outbox.

:func:`notify_comment` runs in the transaction that writes (or edits) a comment: it records
the in-app notifications (paperfeed.store.notifications) and, per each recipient's
preferences, either queues one email per notification in the outbox (``queue_message``,
same transaction) or leaves it ``pending`` for the daily digest. The notification's unique
key (person x comment) and the ``email_status`` moved in that same transaction are what
make a notification mailed at most once, however often a request or an edit is retried.

:func:`send_notification_digests` mails each person with pending notifications one digest
for ``day``; the ``notification_digests`` ledger row, the outbox message and the status
change commit together, so a second run (or worker) finds the day taken and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from paperfeed.config import Settings
from paperfeed.store.comments import add_comment, edit_comment
from paperfeed.store.community_schema import users
from paperfeed.store.database import write_transaction
from paperfeed.store.discussion_schema import notification_digests
from paperfeed.store.notifications import (
    Notification,
    get_preferences,
    list_notifications,
    pending_email_ids,
    pending_email_users,
    record_comment_notifications,
    set_email_status,
)

from .outbox import queue_message

SETTINGS_URL = "/settings/notifications"
HEADLINES = {
    "reply": "{actor} replied to your comment",
    "mention": "{actor} mentioned you",
    "submission": "{actor} commented on a paper you submitted",
}


def mail_item(n: Notification) -> dict[str, Any]:
    """What an email says about one notification (JSON-ready, for the outbox)."""
    paper_url = f"/papers/{n.arxiv_id}"
    return {"headline": HEADLINES[n.kind].format(actor=n.actor or "Someone"),
            "paper_title": n.paper_title, "paper_url": paper_url,
            "url": f"{paper_url}#comment-{n.comment_id}", "excerpt": n.excerpt}


def _mail_address(conn: Connection, user_id: int) -> tuple[str, str] | None:
    """(email, username) of an enabled user with a verified address, else None."""
    row = conn.execute(select(users.c.email, users.c.username).where(
        users.c.id == user_id, users.c.disabled.is_(False),
        users.c.email_verified_at.is_not(None))).first()
    return (row.email, row.username) if row else None


def notify_comment(conn: Connection, settings: Settings, comment_id: int) -> int:
    """Record the notifications comment ``comment_id`` causes and queue their emails (in
    the caller's transaction). Returns how many notifications were created."""
    created = record_comment_notifications(conn, comment_id)
    for new in created:
        prefs = get_preferences(conn, new.user_id)
        address = _mail_address(conn, new.user_id)
        if address is None or not prefs.wants_email(new.kind):
            continue
        if prefs.email_batch == "daily":
            set_email_status(conn, [new.id], "pending")
            continue
        found = list_notifications(conn, new.user_id, ids=[new.id], limit=1)
        if not found:
            continue
        queue_message(conn, settings, "notification", address[0], {
            "username": address[1], "item": mail_item(found[0]), "settings_url": SETTINGS_URL,
        })
        set_email_status(conn, [new.id], "queued")
    return len(created)


def send_notification_digests(engine: Engine, settings: Settings, day: dt.date) -> int:
    """Queue one digest email for ``day`` to each person with pending notifications;
    returns how many were queued (deliver them with ``deliver_outbox``)."""
    with engine.connect() as conn:
        user_ids = pending_email_users(conn)
    queued = 0
    for user_id in user_ids:
        try:
            with write_transaction(engine) as conn:
                queued += _queue_digest(conn, settings, user_id, day)
        except IntegrityError:  # another run took this person's day first
            continue
    return queued


def _queue_digest(conn: Connection, settings: Settings, user_id: int, day: dt.date) -> int:
    taken = conn.execute(select(notification_digests.c.user_id).where(
        notification_digests.c.user_id == user_id, notification_digests.c.day == day)).first()
    ids = pending_email_ids(conn, user_id)
    address = _mail_address(conn, user_id)
    if taken is not None or not ids:
        return 0
    if address is None:  # no verified address any more: nothing to send them
        set_email_status(conn, ids, "none")
        return 0
    items = [mail_item(n) for n in reversed(list_notifications(conn, user_id, ids=ids,
                                                               limit=len(ids)))]
    message_id = ""
    if items:
        message_id = queue_message(conn, settings, "notification_digest", address[0], {
            "username": address[1], "items": items, "settings_url": SETTINGS_URL,
            "day": day.isoformat()})
    conn.execute(notification_digests.insert().values(
        user_id=user_id, day=day, notifications=len(items), message_id=message_id,
        created_at=dt.datetime.now(dt.UTC)))
    set_email_status(conn, ids, "digested")
    return 1 if items else 0


def post_comment(conn: Connection, settings: Settings, paper_id: int, user_id: int, body: str,
                 parent_id: int | None = None) -> int:
    """The one way a comment or reply is posted (pages and API): store it, notify, queue
    the emails, all in the caller's transaction. Returns the comment id; raises
    paperfeed.store.comments.CommentError for a comment that cannot be posted."""
    comment_id = add_comment(conn, paper_id, user_id, body, parent_id)
    notify_comment(conn, settings, comment_id)
    return comment_id


def revise_comment(conn: Connection, settings: Settings, comment_id: int, user_id: int,
                   body: str) -> bool:
    """Edit the user's own comment (False when it is not theirs); people it now mentions
    for the first time are notified, nobody twice."""
    if not edit_comment(conn, comment_id, user_id, body):
        return False
    notify_comment(conn, settings, comment_id)
    return True
