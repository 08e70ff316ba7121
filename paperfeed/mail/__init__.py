"""Email: mailers (SMTP / console / memory), named messages, digests and their delivery.

The web app uses :func:`send_message` (``settings, name, to, context``) for email
verification (``verify_email``) and password reset (``password_reset``); both take
``url`` (absolute or a path on the site) and optionally ``username``.
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
