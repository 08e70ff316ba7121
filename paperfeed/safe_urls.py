"""The one check every outside URL passes before it can become a link: http(s) only.

Upstream data (Hugging Face ``githubRepo`` / ``projectPage``, links found in abstracts) and
anything stored before this check existed may hold ``javascript:``, ``data:`` or other
schemes that run code when clicked. :func:`safe_url` is applied where such URLs are ingested
and again where links are built for pages, emails, Atom feeds, markdown and the JSON API.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_FORBIDDEN = frozenset('\x00\t\r\n "<>\\`')


def safe_url(value: object) -> str | None:
    """``value`` (trimmed) when it is an absolute http:// or https:// URL with a host,
    else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_URL_LENGTH or any(c in _FORBIDDEN for c in text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return text
