"""Conditional GETs: ETag and Last-Modified on cacheable responses, 304 when unchanged.

The ETag is a digest of the body, so it changes exactly when the answer changes (a vote,
an import, a new comment count) and needs no bookkeeping in the data layer. Last-Modified
is the moment this app first served the current body for that URL (the app's
:class:`~paperfeed.web.pagecache.ChangeClock`): a client that revalidates with
If-Modified-Since gets 304 only if the body is the one it already had. If-None-Match
wins over If-Modified-Since, as RFC 9110 says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request
from fastapi.responses import Response

from ..deps import get_change_clock


def body_etag(body: bytes) -> str:
    """A strong ETag for ``body``."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/") for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def _not_modified_since(if_modified_since: str, changed: dt.datetime) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return changed <= since


def conditional_response(
    request: Request,
    body: bytes,
    *,
    media_type: str,
    max_age: int,
    private: bool = False,
    status_code: int = 200,
) -> Response:
    """``body`` with ETag, Last-Modified and Cache-Control, or an empty 304 if the client
    already holds it. ``private`` responses (personal data) are not stored by shared caches.
    """
    etag = body_etag(body)
    changed = get_change_clock(request).changed_at(str(request.url), etag)
    scope = "private" if private else "public"
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(changed, usegmt=True),
        "Cache-Control": f"{scope}, max-age={max(0, max_age)}",
        "Vary": "Authorization" if private else "Accept-Encoding",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if _matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
    elif (ims := request.headers.get("if-modified-since")) and _not_modified_since(ims, changed):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
