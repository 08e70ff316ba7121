"""Jinja2 templates (autoescaped) and the filters that turn user text into safe HTML.

Every piece of paper or user text reaches HTML through autoescaping or through a filter
here that escapes first and then adds only markup it built itself (links, <mark>).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import Connection

from paperfeed.comment_markup import mention_candidates, render_comment
from paperfeed.index.summaries import tldr_source_label
from paperfeed.store.comments import Comment
from paperfeed.store.notifications import known_usernames, unread_count

from .deps import get_engine, load_user
from .security import CSRF_PLACEHOLDER, csrf_token, fill_csrf_placeholder, set_csrf_cookie
from .state import get_settings, get_templates

TEMPLATES = Path(__file__).parent / "templates"
_URL = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]", re.IGNORECASE)

MESSAGES = {
    "welcome": "Welcome! You are logged in.",
    "logged-out": "You are logged out.",
    "verified": "Your email address is verified. Log in to continue.",
    "password-changed": "Your password has been changed.",
    "profile-saved": "Your profile is saved.",
    "comment-posted": "Your comment is posted.",
    "comment-saved": "Your comment is saved.",
    "comment-deleted": "Your comment is deleted.",
    "comment-reported": "Thanks. The comment is reported to the moderators.",
    "notifications-saved": "Your notification settings are saved.",
    "channel-added": "The channel is connected. It gets its feed after each listing.",
    "channel-removed": "The channel is removed.",
    "saved": "Saved to your collection.",
    "collection-saved": "Collection saved.",
    "collection-deleted": "Collection deleted.",
    "submitted": "Thanks! The paper is on today's feed.",
    "token-revoked": "The token is revoked.",
    "email-change-sent": "We have sent a link to your new address. Your current address "
                         "keeps working until you open it.",
    "email-changed": "Your email address is changed: log in with the new one from now on.",
    "account-deleted": "Your account is deleted.",
    "tokens-revoked": "All your API tokens are revoked.",
    "feed-url-changed": "Your personal feed has a new URL; the old one no longer works.",
    "done": "Done.",
    "followed": "Followed. It now feeds For you, your digest and your personal feed.",
    "unfollowed": "You no longer follow it.",
}


def autolink(text: str | None) -> Markup:
    """Plain text -> escaped HTML with http(s) URLs turned into nofollow links."""
    if not text:
        return Markup("")
    out: list[str] = []
    last = 0
    for m in _URL.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        url = m.group(0)
        out.append(
            f'<a href="{escape(url)}" rel="nofollow noopener ugc">{escape(url)}</a>'
        )
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def safe_snippet(snippet: str | None) -> Markup:
    """A search snippet (already HTML-escaped, with <mark> around matches) -> Markup that
    keeps only <mark>: a piece still holding raw '<' or '>' is escaped again."""
    if not snippet:
        return Markup("")
    pieces = re.split(r"(</?mark>)", snippet)
    out = []
    for piece in pieces:
        if piece in ("<mark>", "</mark>"):
            out.append(piece)
        elif "<" in piece or ">" in piece or '"' in piece:
            out.append(str(escape(piece)))
        else:
            out.append(piece)
    html = "".join(out)
    # Balance marks so a truncated snippet cannot leave one open.
    opened = html.count("<mark>") - html.count("</mark>")
    return Markup(html + "</mark>" * max(opened, 0))


def comment_html(conn: Connection, comments: Sequence[Comment]) -> dict[int, Markup]:
    """Comment id -> its Markdown as sanitised HTML (paperfeed/comment_markup.py), with
    @mentions of existing users linked."""
    known = known_usernames(conn, mention_candidates([c.body for c in comments]))
    return {c.id: Markup(render_comment(c.body, known)) for c in comments}


def human_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%b %-d, %Y %H:%M UTC")
    return value.strftime("%b %-d, %Y")


def author_url(name: str) -> str:
    return "/authors/" + quote(name, safe="")


def url_with(request: Request, name: str, value: str) -> str:
    """This page's path and query with ``name`` set to ``value`` (dropped when empty) and
    back on page 1: the links of listing toggles such as "hide seen"."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in (name, "p")]
    if value:
        params.append((name, value))
    return request.url.path + ("?" + urlencode(params) if params else "")


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["autolink"] = autolink
    env.filters["snippet"] = safe_snippet
    env.filters["human_date"] = human_date
    env.filters["author_url"] = author_url
    env.filters["summary_source"] = tldr_source_label
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    env.globals["MESSAGES"] = MESSAGES
    env.globals["url_with"] = url_with
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    anonymous_cacheable: bool = False,
) -> HTMLResponse:
    """Render a page for this request. With ``anonymous_cacheable`` the page is rendered as
    for an anonymous visitor with the CSRF placeholder (the caller caches ``body`` and
    serves it with :func:`serve_cached`)."""
    html = render_text(request, template, context, anonymous=anonymous_cacheable)
    return serve_cached(request, html, status_code=status_code) if anonymous_cacheable \
        else _respond(request, html, status_code)


def render_text(
    request: Request, template: str, context: dict[str, Any] | None = None, *,
    anonymous: bool = False,
) -> str:
    settings = get_settings(request)
    ctx: dict[str, Any] = {
        "request": request,
        "settings": settings,
        "site_name": settings.site_name,
        "user": None if anonymous else load_user(request),
        "csrf_token": CSRF_PLACEHOLDER if anonymous else csrf_token(request),
        "message": MESSAGES.get(request.query_params.get("m", "")),
        "path": request.url.path,
    }
    if ctx["user"] is not None:  # the header's bell
        with get_engine(request).connect() as conn:
            ctx["unread_notifications"] = unread_count(conn, ctx["user"].id)
    ctx.update(context or {})
    return get_templates(request).get_template(template).render(ctx)


def serve_cached(request: Request, html: str, *, status_code: int = 200) -> HTMLResponse:
    """Serve a page built by render_text(anonymous=True) with this visitor's CSRF token."""
    return _respond(request, fill_csrf_placeholder(html, csrf_token(request)), status_code)


def _respond(request: Request, html: str, status_code: int) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status_code)
    set_csrf_cookie(request, response)
    return response
