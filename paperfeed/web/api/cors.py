"""CORS for reads: any origin may GET the API and the feeds, nothing else.

A tiny ASGI middleware rather than Starlette's CORSMiddleware because that one applies to
every path: pages, forms and session cookies stay same-origin. Write requests get no CORS
headers, so browsers on other origins cannot send them (scripts use tokens server-side).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import is_program_path

READ_METHODS = ("GET", "HEAD")
ALLOW_HEADERS = "Authorization, If-None-Match, If-Modified-Since, Accept"
EXPOSE_HEADERS = "ETag, Last-Modified, Link, X-Total-Count"


class ReadOnlyCors:
    """Adds ``Access-Control-Allow-Origin: *`` to GET/HEAD answers on program paths and
    answers their preflight requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_program_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        headers = Headers(scope=scope)
        if method == "OPTIONS" and "access-control-request-method" in headers:
            requested = headers["access-control-request-method"].upper()
            if requested in READ_METHODS:
                response = Response(status_code=204, headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "GET, HEAD",
                    "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    "Access-Control-Max-Age": "86400",
                })
            else:
                response = Response(status_code=400, content=b'{"error":"CORS is for GET only"}',
                                    media_type="application/json")
            await response(scope, receive, send)
            return
        if method not in READ_METHODS or "origin" not in headers:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = "*"
                out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)
