"""Typed FastAPI dependencies shared by the page routers (and usable by the JSON API).

``DbConn`` is a read connection for the request (writes open their own transaction with
``write_transaction``); ``OptionalUser`` / ``CurrentUser`` come from the session cookie;
``CsrfChecked`` guards every state-changing form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from sqlalchemy import Connection, Engine

from paperfeed.config import Settings
from paperfeed.store.sessions import session_user
from paperfeed.store.users import User

from .client_address import client_key
from .ratelimit import RateLimiter
from .security import SESSION_COOKIE, verify_csrf


class LoginRequired(Exception):
    """Raised by CurrentUser for anonymous visitors; answered with a redirect to /login."""


class Forbidden(HTTPException):
    def __init__(self, detail: str = "You are not allowed to do that.") -> None:
        super().__init__(status_code=403, detail=detail)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_conn(request: Request) -> Iterator[Connection]:
    with request.app.state.engine.connect() as conn:
        yield conn


def get_limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter  # type: ignore[no-any-return]


def load_user(request: Request) -> User | None:
    """The logged-in user (cached on the request), or None."""
    if hasattr(request.state, "user"):
        return request.state.user  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        with request.app.state.engine.connect() as conn:
            user = session_user(conn, token)
    request.state.user = user
    return user


def require_user(request: Request) -> User:
    user = load_user(request)
    if user is None:
        raise LoginRequired()
    return user


def require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise Forbidden("Only administrators can open this page.")
    return user


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
DbConn = Annotated[Connection, Depends(get_conn)]
Limiter = Annotated[RateLimiter, Depends(get_limiter)]
OptionalUser = Annotated[User | None, Depends(load_user)]
CurrentUser = Annotated[User, Depends(require_user)]
AdminUser = Annotated[User, Depends(require_admin)]
CsrfChecked = Depends(verify_csrf)
# Row ids in paths: positive and within both databases' BIGINT.
RowId = Annotated[int, Path(ge=1, le=2**62)]


def client_address(request: Request) -> str:
    """The per-client rate-limit key (web/client_address.py: behind trusted proxies the
    forwarded client, IPv6 by /64)."""
    return client_key(request)
