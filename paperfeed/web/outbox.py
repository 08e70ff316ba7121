"""The seam between the web app and email: ``SendMail(name, to, context)``.

Account emails (verify address, reset password, "you already have an account") are named
messages. create_app takes any callable of this shape; the default hands the message to
paperfeed.mail when it offers ``send_message`` and otherwise prints it to the log, so a
development site without SMTP still shows the links. Tests pass a recorder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from paperfeed.config import Settings

log = logging.getLogger("paperfeed.web.mail")


class SendMail(Protocol):
    def __call__(self, name: str, to: str, context: dict[str, Any]) -> None: ...


def default_send_mail(settings: Settings) -> SendMail:
    """Send through paperfeed.mail if it is installed, else log the message."""

    def send(name: str, to: str, context: dict[str, Any]) -> None:
        try:
            from paperfeed import mail
        except ImportError:
            mail = None  # type: ignore[assignment]
        sender: Callable[..., Any] | None = getattr(mail, "send_message", None)
        if sender is not None:
            try:
                sender(settings, name, to, context)
                return
            except Exception:
                log.exception("could not send %s to %s", name, to)
                return
        log.warning("email %s to %s: %s", name, to, context.get("url", ""))

    return send


class MemoryOutbox:
    """Keeps every message in ``sent`` (tests, demos)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, name: str, to: str, context: dict[str, Any]) -> None:
        self.sent.append((name, to, dict(context)))

    def last(self, name: str, to: str | None = None) -> dict[str, Any]:
        for sent_name, sent_to, context in reversed(self.sent):
            if sent_name == name and (to is None or sent_to == to):
                return context
        raise LookupError(f"no {name} message sent to {to}")
