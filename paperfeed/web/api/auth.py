"""Who is calling: personal API tokens (``Authorization: Bearer pf_...``) and write limits.

Tokens are created in account settings (store/tokens.py keeps only their sha256). A
missing, malformed, unknown or revoked token, or one of a disabled user, is a 401 with a
``WWW-Authenticate: Bearer`` header. Writes are rate limited per user with the app's
:class:`~paperfeed.web.ratelimit.RateLimiter` (429 with ``Retry-After``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from paperfeed.store.database import write_transaction
from paperfeed.store.tokens import user_for_token
from paperfeed.store.users import User
from paperfeed.web.ratelimit import RateLimiter

from .dependencies import api_engine
from .errors import ApiError

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="personal token",
    description="A personal API token from account settings: `Authorization: Bearer pf_...`",
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="paperfeed"'}


def token_user(
    engine: Annotated[Engine, Depends(api_engine)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    """The user of a valid bearer token, None without an Authorization header; 401 for a
    bad one (a wrong token must not silently read as anonymous)."""
    if credentials is None:
        return None
    with write_transaction(engine) as conn:
        user = user_for_token(conn, credentials.credentials, touch=True)
    if user is None:
        raise ApiError(401, "invalid or revoked API token", headers=CHALLENGE)
    return user


def required_user(user: Annotated[User | None, Depends(token_user)]) -> User:
    """The token's user, or 401 when the request carries no token."""
    if user is None:
        raise ApiError(
            401, "this endpoint needs a personal API token: Authorization: Bearer pf_...",
            headers=CHALLENGE,
        )
    return user


OptionalUser = Annotated[User | None, Depends(token_user)]
CurrentUser = Annotated[User, Depends(required_user)]


def limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter  # type: ignore[no-any-return]


def check_rate(request: Request, bucket: str, user: User) -> None:
    """429 once ``user`` has used up ``bucket`` (vote, submit, collection)."""
    limits = limiter(request)
    if not limits.allow(bucket, f"user:{user.id}"):
        _, window = limits.limits[bucket]
        raise ApiError(
            429, f"too many {bucket} requests; try again later",
            headers={"Retry-After": str(int(window))},
        )
