"""The one check every outside URL passes before it can become a link: http(s) only; and
:func:`public_url_problem`, the SSRF guard for URLs the server will request for a user.

Upstream data (Hugging Face ``githubRepo`` / ``projectPage``, links found in abstracts) and
anything stored before this check existed may hold ``javascript:``, ``data:`` or other
schemes that run code when clicked. :func:`safe_url` is applied where such URLs are ingested
and again where links are built for pages, emails, Atom feeds, markdown and the JSON API.
"""

from __future__ import annotations

import ipaddress
import socket
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


def public_url_problem(url: str) -> str | None:
    """Why ``url`` may not be the target of a server-side request made for a user, or None.

    The guard against server-side request forgery for URLs users enter (channel webhooks):
    http(s) with a host, and every address the host resolves to must be public: loopback,
    private, link-local, multicast, reserved and unspecified addresses are refused (also
    IPv4-mapped IPv6 forms). Checked when the URL is entered and again before each request,
    since DNS answers can change. The message is safe to show to the user."""
    if safe_url(url) is None:
        return "the URL must be an http:// or https:// URL with a host"
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return f"the host {host} cannot be resolved"
    if not infos:
        return f"the host {host} cannot be resolved"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast or address.is_reserved:
            return (f"the host {host} resolves to a non-public address ({address}); "
                    "only public hosts can receive posts")
    return None
