"""A private instance (setting ``read_requires_login``): one gate in front of every route.

:class:`RequireLogin` (pure-ASGI middleware, added by create_app only when the setting is
on) lets a request through when it carries a live session cookie or a valid personal API
token (``Authorization: Bearer pf_...``), or when its path is on the allow-list:

- log in, sign up, password reset and email verification (``/login``, ``/signup``,
  ``/reset``, ``/reset/<token>``, ``/verify/<token>``), static files, ``/healthz`` and
  ``/readyz``;
- links whose signed token is the credential: personal Atom feeds
  (``/feeds/users/<name>/<secret>.atom``) and the digest links every email carries
  (unsubscribe, confirm, preferences, "not interested"), so one-click unsubscribe (RFC
  8058) keeps working for a subscriber who is not logged in.

Everything else is refused: programs (``/api/...``, ``/feeds/...``, ``/papers/<id>.md``,
``/openapi.json``, ``/metrics``: a Prometheus scrape sends a bearer token) get a 401
``{"error": ...}`` with ``WWW-Authenticate``; people get a 303 to
``/login?next=<the page>``. A wrong bearer token is a 401 everywhere (it must not
read as "anonymous"). CORS preflights (OPTIONS) pass: they carry no data and get none.
Answers that went through the gate say ``Cache-Control: private`` where the route said
``public``, so a shared cache (a CDN, a caching proxy) never hands them to a stranger.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.store.sessions import session_user
from paperfeed.store.tokens import user_for_token

from .api.errors import is_program_path
from .security import SESSION_COOKIE

OPEN_PATHS = frozenset({"/login", "/signup", "/reset", "/healthz", "/readyz"})
OPEN_PREFIXES = (
    "/static/", "/reset/", "/verify/",
    # digest emails: the signed token in the link is the credential
    "/unsubscribe/", "/subscription/", "/subscribe/confirm/", "/not-interested/",
)
PERSONAL_FEED = re.compile(r"^/feeds/users/[^/]+/[^/]+\.atom$")
PROGRAM_PATHS = frozenset({"/openapi.json", "/metrics"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="paperfeed"'}
PRIVATE = "this site is private: log in, or send Authorization: Bearer pf_... (a personal token)"


def is_open_path(path: str) -> bool:
    """True for the paths a private instance serves to anyone (see the module docstring)."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or bool(
        PERSONAL_FEED.match(path))


class RequireLogin:
    """ASGI middleware: the private-instance gate (module docstring)."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] == "OPTIONS"
                or is_open_path(scope["path"])):
            await self.app(scope, receive, send)
            return
        refusal = await run_in_threadpool(self._refusal, Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def send_privately(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v.replace(b"public", b"private") if k.lower() == b"cache-control" else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_privately)

    def _refusal(self, request: Request) -> Response | None:
        """None when the request may go on; else the answer that refuses it."""
        path = request.url.path
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        with self.engine.connect() as conn:
            if scheme.lower() == "bearer":
                if user_for_token(conn, credentials.strip()) is not None:
                    return None
                return JSONResponse({"error": "invalid or revoked API token"},
                                    status_code=401, headers=CHALLENGE)
            cookie = request.cookies.get(SESSION_COOKIE)
            user = session_user(conn, cookie) if cookie else None
        if user is not None:
            request.state.user = user  # web/deps.load_user reads it: no second lookup
            return None
        if is_program_path(path) or path in PROGRAM_PATHS:
            return JSONResponse({"error": PRIVATE}, status_code=401, headers=CHALLENGE)
        target = path + ("?" + request.url.query if request.url.query else "")
        if request.method not in ("GET", "HEAD"):
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
