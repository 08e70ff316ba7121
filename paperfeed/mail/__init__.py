"""Email: mailers (SMTP / console / memory), named messages, digests and their delivery.

Account emails, email verification (``verify_email``) and password reset
(``password_reset``), take ``url`` (absolute or a path on the site) and optionally
``username``; the web app queues them in the outbox (:mod:`paperfeed.mail.outbox`) inside
the transaction that causes them, and :mod:`paperfeed.mail.outbox_sender` delivers them.
"""

from .mailer import (
    ConsoleMailer,
    Mailer,
    MailError,
    MemoryMailer,
    PermanentMailError,
    SmtpMailer,
    TransientMailError,
    mailer_from_settings,
)
from .messages import MESSAGES, RenderedMessage, compose, render_message, send_message

__all__ = [
    "MESSAGES",
    "ConsoleMailer",
    "MailError",
    "Mailer",
    "MemoryMailer",
    "PermanentMailError",
    "RenderedMessage",
    "SmtpMailer",
    "TransientMailError",
    "compose",
    "mailer_from_settings",
    "render_message",
    "send_message",
]
