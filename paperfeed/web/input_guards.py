"""Request hygiene that every route shares: NUL characters never reach a query.

PostgreSQL text cannot hold NUL, so a ``%00`` in a path, a query string or a form field used
to end in a failed query and a 500 (SQLite stored it). No real value contains one, so
:class:`RefuseNulBytes` (pure-ASGI middleware) answers 400 before any route runs: to pages in
plain words, to programs (``/api``, ``/feeds``, ``.md``) as ``{"error": ...}``. Form and JSON
bodies are read here (they are already bounded by BodySizeLimit) and replayed to the route.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api.errors import is_program_path

MESSAGE = "Requests must not contain NUL characters."
CHECKED_BODIES = (b"application/x-www-form-urlencoded", b"application/json")


def has_nul(raw: bytes) -> bool:
    """True when ``raw`` (percent-encoded or not, or a JSON text) holds a NUL character."""
    return b"\x00" in raw or b"\x00" in unquote_to_bytes(raw) or b"\\u0000" in raw.lower()


class RefuseNulBytes:
    """ASGI middleware: 400 for NUL characters in the path, the query or a form/JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if "\x00" in scope["path"] or has_nul(path) or has_nul(scope.get("query_string", b"")):
            await self._refuse(scope, send)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
        if not content_type.startswith(CHECKED_BODIES):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if has_nul(bytes(body)):
            await self._refuse(scope, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        if is_program_path(scope["path"]):
            body = json.dumps({"error": MESSAGE}).encode()
            kind = b"application/json"
        else:
            body = MESSAGE.encode()
            kind = b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", kind),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
