"""Named messages: one folder per message in ``paperfeed/mail/templates/<name>/`` holding
``subject.txt``, ``body.txt`` and ``body.html``; rendering, composing and sending them.

HTML is rendered with Jinja2 autoescaping (a title containing ``<script>`` arrives as
text) and its CSS is inlined with css-inline (media queries kept for phones); the plain
text part is rendered from ``body.txt`` without HTML escaping. Links are absolute, built
from ``settings.base_url``. There are no images and no tracking pixels.

The web app never sends inside a request: it records each account or subscription email
with :func:`paperfeed.mail.outbox.queue_message` inside the transaction that causes it,
and the outbox is delivered after commit. :func:`send_message` (``settings, name, to,
context``) sends one at once (the CLI, tests).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import css_inline
from jinja2 import Environment, FunctionLoader, PackageLoader, StrictUndefined

from paperfeed.config import Settings

from .inlining import flatten_template, inline_template_source, stylesheet_of
from .mailer import Mailer, mailer_from_settings

MESSAGES = ("confirm_new_email", "confirm_subscription", "digest", "email_change_requested",
            "notification", "notification_digest", "password_reset", "verify_email")


class _OptionalUndefined(StrictUndefined):
    """Missing variables fail loudly when printed but count as false in ``{% if %}``, so
    optional context keys (``username``, ``expires_minutes``) may be left out."""

    def __bool__(self) -> bool:  # type: ignore[override]
        return False


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message ready to compose: one-line subject, plain text and inlined HTML."""

    subject: str
    text: str
    html: str


class MessageRenderer:
    """Compiles the message templates once and renders them many times (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=PackageLoader("paperfeed.mail", "templates"),
            autoescape=lambda name: bool(name and name.endswith(".html")),
            undefined=_OptionalUndefined,
            trim_blocks=False,
            keep_trailing_newline=True,
        )
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        # HTML bodies: CSS inlined into the template source once (paperfeed.mail.inlining).
        self.html_env = Environment(
            loader=FunctionLoader(self._inlined_source),
            autoescape=True,
            undefined=_OptionalUndefined,
            keep_trailing_newline=True,
        )
        for env in (self.env, self.html_env):
            env.filters["absolute"] = self.absolute
            env.globals.update(site_name=settings.site_name, base_url=settings.base_url,
                               preheader="")

    def _inlined_source(self, name: str) -> tuple[str, None, Callable[[], bool]]:
        # Fragments ("digest/_paper.html") take the CSS of the layout.
        css = stylesheet_of(self.env, "_layout.html") if "/_" in name else None
        source = inline_template_source(flatten_template(self.env, name), self.inliner,
                                        fragment_css=css)
        return source, None, lambda: True

    def render_fragment(self, name: str, context: dict[str, Any]) -> str:
        """An HTML fragment template (CSS inlined) rendered with ``context``."""
        return self.html_env.get_template(name).render(context)

    def absolute(self, url: str) -> str:
        """``/path`` -> ``https://site/path``; absolute URLs unchanged."""
        if not url or "://" in url or url.startswith("mailto:"):
            return url
        return f"{self.settings.base_url}/{url.lstrip('/')}"

    def render(self, name: str, context: dict[str, Any]) -> RenderedMessage:
        """Render message ``name`` with ``context``; raises jinja2 errors for unknown names
        or missing variables."""
        subject = self.env.get_template(f"{name}/subject.txt").render(context)
        text = self.env.get_template(f"{name}/body.txt").render(context)
        html = self.html_env.get_template(f"{name}/body.html").render(context)
        return RenderedMessage(subject=" ".join(subject.split()), text=text.strip() + "\n",
                               html=html)


_RENDERERS: dict[tuple[str, str, str], MessageRenderer] = {}
_LOCK = threading.Lock()


def renderer_for(settings: Settings) -> MessageRenderer:
    """A shared renderer for these settings (templates compiled once per process)."""
    key = (settings.site_name, settings.base_url, settings.secret_key)
    with _LOCK:
        found = _RENDERERS.get(key)
        if found is None:
            found = _RENDERERS[key] = MessageRenderer(settings)
        return found


def render_message(settings: Settings, name: str, context: dict[str, Any]) -> RenderedMessage:
    """Render the named message (see :class:`MessageRenderer`)."""
    return renderer_for(settings).render(name, context)


def mail_domain(settings: Settings) -> str:
    """The domain of the From: address (for Message-IDs)."""
    address = parseaddr(settings.mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def new_message_id(settings: Settings) -> str:
    """A fresh, globally unique Message-ID."""
    return f"<{uuid.uuid4().hex}@{mail_domain(settings)}>"


def compose(
    settings: Settings,
    to: str,
    rendered: RenderedMessage,
    *,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    date: Any = None,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) with From, To, Subject, Date,
    Message-ID and any extra ``headers`` (e.g. List-Unsubscribe)."""
    import datetime as dt

    msg = EmailMessage()
    name, address = parseaddr(settings.mail_from)
    msg["From"] = Address(display_name=name, addr_spec=address) if name else address
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
    msg["Message-ID"] = message_id or new_message_id(settings)
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


_MAILERS: dict[str, Mailer] = {}


def default_mailer(settings: Settings) -> Mailer:
    """The process-wide mailer for ``settings.smtp_url`` (connections reused)."""
    with _LOCK:
        found = _MAILERS.get(settings.smtp_url)
        if found is None:
            found = _MAILERS[settings.smtp_url] = mailer_from_settings(settings)
        return found


def send_message(
    settings: Settings,
    name: str,
    to: str,
    context: dict[str, Any],
    *,
    mailer: Mailer | None = None,
    message_id: str | None = None,
) -> str:
    """Render message ``name`` for ``to`` and deliver it now; returns its Message-ID.

    Call it after the transaction that caused the message committed. Raises MailError
    subclasses when delivery fails (after the mailer's own retries).
    """
    rendered = render_message(settings, name, context)
    message = compose(settings, to, rendered, message_id=message_id)
    (mailer or default_mailer(settings)).send(message)
    return str(message["Message-ID"])
