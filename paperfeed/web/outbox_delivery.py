"""Delivering the mail a request queued: right after its transaction committed.

Comments, replies and mentions queue their notification emails in the outbox inside the
write transaction (paperfeed.mail.notifying); the handler then calls
:func:`deliver_queued_mail`. A failure stays in the outbox for the worker's next pass.
"""

from __future__ import annotations

import logging

from fastapi import Request

from paperfeed.mail.outbox import deliver_outbox

log = logging.getLogger("paperfeed.web.mail")


def deliver_queued_mail(request: Request) -> None:
    """Send what the request's committed transaction queued in the outbox; never raises
    (the request has succeeded either way)."""
    state = request.app.state
    try:
        deliver_outbox(state.engine, state.settings, state.mailer)
    except Exception:
        log.exception("outbox delivery failed; the worker will retry")
