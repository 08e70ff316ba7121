"""Bounds on what one anonymous client can make the server do.

- :class:`BodySizeLimit` (pure-ASGI middleware, every route): a request whose body is larger
  than ``max_body_bytes`` is refused with 413. A declared ``Content-Length`` over the limit is
  refused before a byte is read; a chunked body is counted as it streams and refused the
  moment it passes the limit, so nobody can make a worker buffer 20 MiB of form or JSON.
- :func:`enforce_limit` / :func:`RateLimited`: per-client budgets (web/ratelimit.py) for
  the expensive reads (search, similar papers, personal feeds), keyed by the client address
  that web/client_address.py established; over budget is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Depends, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .client_address import client_key
from .state import get_limiter

TOO_LARGE = b"Request body too large."


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodySizeLimit:
    """ASGI middleware: 413 for request bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers") or [] if k.lower() == b"content-length"]
        try:
            too_large = any(int(v) > self.max_bytes for v in declared)
        except ValueError:
            too_large = False  # the server rejects a malformed length itself
        if too_large:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # raised where no exception handler caught it (e.g. a middleware reading the body)
            if not started:
                await self._refuse(send)

    @staticmethod
    async def _refuse(send: Send) -> None:
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(TOO_LARGE)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": TOO_LARGE})


def enforce_limit(request: Request, bucket: str, key: str | None = None) -> None:
    """429 with ``Retry-After`` once this client (or ``key``) used up ``bucket``."""
    limiter = get_limiter(request)
    if limiter.allow(bucket, key or client_key(request)):
        return
    window = limiter.limits[bucket][1]
    raise HTTPException(
        429, "Too many requests from your address. Wait a little and try again.",
        headers={"Retry-After": str(max(1, math.ceil(window)))},
    )


def RateLimited(bucket: str) -> Any:
    """A route dependency: ``dependencies=[RateLimited("search")]``."""

    def check(request: Request) -> None:
        enforce_limit(request, bucket)

    return Depends(check)
