"""How the web app sends account emails: ``SendMail(name, to, context)``.

Account emails (verify address, reset password, "you already have an account") are named
messages of paperfeed.mail. create_app takes any callable of this shape; the default,
:func:`mail_sender`, renders the message and hands it to the app's mailer (with no SMTP
configured that is the console mailer, so a development site still shows the links).
Tests pass a :class:`RecordedAccountMail`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from paperfeed.config import Settings
from paperfeed.mail import Mailer, send_message

log = logging.getLogger("paperfeed.web.mail")


class SendMail(Protocol):
    def __call__(self, name: str, to: str, context: dict[str, Any]) -> None: ...


def mail_sender(settings: Settings, mailer: Mailer) -> SendMail:
    """Send account emails through ``mailer``; a failure is logged, never raised (the
    request that caused the email has already been answered)."""

    def send(name: str, to: str, context: dict[str, Any]) -> None:
        try:
            send_message(settings, name, to, context, mailer=mailer)
        except Exception:
            log.exception("could not send %s to %s", name, to)

    return send


class RecordedAccountMail:
    """Keeps every account email in ``sent`` instead of sending it (tests, demos)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, name: str, to: str, context: dict[str, Any]) -> None:
        self.sent.append((name, to, dict(context)))

    def last(self, name: str, to: str | None = None) -> dict[str, Any]:
        for sent_name, sent_to, context in reversed(self.sent):
            if sent_name == name and (to is None or sent_to == to):
                return context
        raise LookupError(f"no {name} message sent to {to}")
