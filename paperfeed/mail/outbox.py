"""The outbox of transactional mail (subscription confirmation, email verification,
password reset, account notices): recorded with :func:`queue_message` in the same
transaction as the change that causes it, delivered after commit by :func:`deliver_outbox`
— which the web app's background sender (:mod:`paperfeed.mail.outbox_sender`) runs when
woken after a commit, and the worker runs every minute for anything left behind. Nothing
is ever sent inside a request.

Delivery holds a row by a **lease**: a compare-and-swap sets ``claimed_at``, so two senders
never take the same row at once; ``sent_at`` is set only after the SMTP server accepted the
message. A sender that dies mid-send leaves its lease to run out (:func:`claim_lease`,
longer than any one send can take with the SMTP timeouts), and the row is sent again: a
crash loses nothing, and at worst one message goes out twice (when the crash fell between
the server's acceptance and recording ``sent_at``; on PostgreSQL that is only the COMMIT,
see :func:`deliver_outbox`). A failed send is retried with
exponential backoff (``next_attempt_at``) up to MAX_ATTEMPTS times; a 5xx refusal is final.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from paperfeed.config import Settings
from paperfeed.store.database import dialect, write_transaction
from paperfeed.store.mail_schema import mail_outbox

from .mailer import Mailer, PermanentMailError
from .messages import MESSAGES, compose, new_message_id, render_message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE = dt.timedelta(seconds=30)  # 30 s, 1 min, 2 min, ... between attempts
RETRY_CAP = dt.timedelta(hours=1)


def queue_message(
    conn: Connection, settings: Settings, name: str, to: str, context: dict[str, Any]
) -> str:
    """Record message ``name`` for ``to`` in the caller's transaction; returns its Message-ID.

    Nothing is sent until :func:`deliver_outbox` runs after the commit; if the
    transaction rolls back, the message disappears with it.
    """
    if name not in MESSAGES:
        raise ValueError(f"unknown message {name!r}")
    message_id = new_message_id(settings)
    conn.execute(
        insert(mail_outbox).values(
            recipient=to, name=name, context=context, message_id=message_id,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return message_id


def claim_lease(settings: Settings) -> dt.timedelta:
    """How long a claim holds a row: every attempt of the mailer (``smtp_retries`` + 1),
    each up to ~8 SMTP commands of ``smtp_timeout_seconds``, plus its backoff; at least
    five minutes."""
    attempts = settings.smtp_retries + 1
    backoff = settings.smtp_retry_base_seconds * (2 ** attempts)
    seconds = attempts * 8 * settings.smtp_timeout_seconds + backoff
    return dt.timedelta(seconds=max(300.0, seconds))


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s doubling, at most an hour."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def _due(now: dt.datetime, lease: dt.timedelta) -> Any:
    """Rows a sender may take now: unsent, attempts left, retry time reached, not leased."""
    c = mail_outbox.c
    return and_(
        c.sent_at.is_(None),
        c.attempts < MAX_ATTEMPTS,
        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
        or_(c.claimed_at.is_(None), c.claimed_at <= now - lease),
    )


def deliver_outbox(engine: Engine, settings: Settings, mailer: Mailer, *, limit: int = 100,
                   now: dt.datetime | None = None) -> int:
    """Send the outbox messages that are due (oldest first); returns how many were delivered.

    Side effects: leases each row before sending it and marks it sent after; a failed row
    gets its error, its attempt count and a later ``next_attempt_at`` (a 5xx refusal uses
    up its attempts). ``now`` (tests) stands for the current time when choosing and leasing.
    """
    def clock() -> dt.datetime:
        return now or dt.datetime.now(dt.UTC)

    lease = claim_lease(settings)
    with engine.connect() as conn:
        rows = conn.execute(
            select(mail_outbox).where(_due(clock(), lease)).order_by(mail_outbox.c.id)
            .limit(limit)
        ).all()
        # PostgreSQL: ``sent_at`` is written before the handoff, in a transaction that stays
        # open (it locks only this leased row) and commits on the server's 250, so only the
        # COMMIT follows the 250. SQLite's one write lock must not wait on SMTP.
        confirm_first = dialect(conn).ROW_LOCKS
    delivered = 0
    for row in rows:
        claimed_at = clock()
        with write_transaction(engine) as conn:
            claimed = conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id == row.id, _due(claimed_at, lease))
                .values(claimed_at=claimed_at, attempts=mail_outbox.c.attempts + 1)
            ).rowcount
        if not claimed:
            continue  # another sender took it meanwhile
        values: dict[str, Any]
        try:
            rendered = render_message(settings, row.name, dict(row.context))
            message = compose(settings, row.recipient, rendered, message_id=row.message_id)
            if confirm_first:  # a failed send raises out of the block: rolled back
                with write_transaction(engine) as conn:
                    _mark_sent(conn, row.id, clock())
                    mailer.send(message)
            else:
                mailer.send(message)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried later
            attempts = row.attempts + 1
            if isinstance(exc, PermanentMailError):
                attempts = MAX_ATTEMPTS
            log.warning("outbox message %s (%s) failed, attempt %s: %s", row.id, row.name,
                        attempts, exc)
            values = {"claimed_at": None, "error": str(exc)[:500], "attempts": attempts,
                      "next_attempt_at": clock() + retry_delay(attempts)}
        else:
            delivered += 1
            if not confirm_first:
                with write_transaction(engine) as conn:
                    _mark_sent(conn, row.id, clock())
            continue
        with write_transaction(engine) as conn:
            conn.execute(update(mail_outbox).where(mail_outbox.c.id == row.id).values(**values))
    return delivered


def _mark_sent(conn: Connection, row_id: int, now: dt.datetime) -> None:
    conn.execute(update(mail_outbox).where(mail_outbox.c.id == row_id)
                 .values(sent_at=now, error=None))
