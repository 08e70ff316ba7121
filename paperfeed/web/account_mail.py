"""How the web app sends account emails (verify address, reset password, account notices):
the one transactional-mail path, shared with the subscription pages.

A handler records the email with :func:`queue_account_mail` inside the write transaction
that causes it (if that transaction rolls back, no email); nothing is sent inside a
request. After any write request the ``AfterWrites`` middleware (web/pagecache.py) wakes
the app's :class:`~paperfeed.mail.outbox_sender.OutboxSender`, which delivers the outbox in
its own thread, with retries and backoff; the worker delivers whatever is left (a crash,
an SMTP outage). With no SMTP configured the mailer is the console one, so a development
site still shows the links.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import Connection

from paperfeed.mail.outbox import queue_message

from .state import get_settings


def queue_account_mail(conn: Connection, request: Request, name: str, to: str,
                       context: dict[str, Any]) -> str:
    """Record the named message for ``to`` in ``conn``'s transaction (the site name and
    base URL are added to ``context``); returns its Message-ID."""
    settings = get_settings(request)
    full = {"site_name": settings.site_name, "base_url": settings.base_url, **context}
    return queue_message(conn, settings, name, to, full)
