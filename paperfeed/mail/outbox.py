"""The outbox of transactional mail (subscription confirmation, email verification,
password reset): recorded in the same transaction as the change that causes it, delivered
after commit by :func:`deliver_outbox` (called right after the commit, and again by the
worker for anything left behind by a crash or an SMTP outage).

Delivery claims a row by setting ``sent_at`` with a compare-and-swap before sending, so two
processes never send the same row; a crash between claim and delivery loses that one
message (at-most-once: the person can ask for another link), which we prefer to sending
account links twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from paperfeed.config import Settings
from paperfeed.store.database import write_transaction
from paperfeed.store.mail_schema import mail_outbox

from .mailer import Mailer, MailError, PermanentMailError
from .messages import MESSAGES, compose, new_message_id, render_message

MAX_ATTEMPTS = 5


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


def deliver_outbox(engine: Engine, settings: Settings, mailer: Mailer, *, limit: int = 100) -> int:
    """Send pending outbox messages (oldest first); returns how many were delivered.

    Side effects: marks rows sent; a failed row gets its error and attempt count and is
    retried on a later call (up to MAX_ATTEMPTS; 5xx failures are not retried).
    """
    with engine.connect() as conn:
        rows = conn.execute(
            select(mail_outbox)
            .where(mail_outbox.c.sent_at.is_(None), mail_outbox.c.attempts < MAX_ATTEMPTS)
            .order_by(mail_outbox.c.id)
            .limit(limit)
        ).all()
    delivered = 0
    for row in rows:
        with write_transaction(engine) as conn:
            claimed = conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id == row.id, mail_outbox.c.sent_at.is_(None))
                .values(sent_at=dt.datetime.now(dt.UTC), attempts=mail_outbox.c.attempts + 1)
            ).rowcount
        if not claimed:
            continue
        try:
            rendered = render_message(settings, row.name, dict(row.context))
            mailer.send(compose(settings, row.recipient, rendered, message_id=row.message_id))
            delivered += 1
        except MailError as exc:
            attempts = MAX_ATTEMPTS if isinstance(exc, PermanentMailError) else None
            with write_transaction(engine) as conn:
                values: dict[str, Any] = {"sent_at": None, "error": str(exc)[:500]}
                if attempts:
                    values["attempts"] = attempts
                conn.execute(update(mail_outbox).where(mail_outbox.c.id == row.id).values(**values))
    return delivered
