"""Write limits of the API: each write is rate limited per user with the app's
:class:`~paperfeed.web.ratelimit.RateLimiter` (429 with ``Retry-After``).

Who is calling comes from web/deps.py: ``TokenUser`` / ``OptionalTokenUser`` (personal API
tokens, ``Authorization: Bearer pf_...``; a missing, malformed, unknown or revoked token,
or one of a disabled user, is a 401 with a ``WWW-Authenticate: Bearer`` header).
"""

from __future__ import annotations

from fastapi import Request

from paperfeed.store.users import User

from ..deps import get_limiter
from ..ratelimit import user_key
from .errors import ApiError


def check_rate(request: Request, bucket: str, user: User) -> None:
    """429 once ``user`` has used up ``bucket`` (vote, submit, collection)."""
    limits = get_limiter(request)
    if not limits.allow(bucket, user_key(user.id)):
        _, window = limits.limits[bucket]
        raise ApiError(
            429, f"too many {bucket} requests; try again later",
            headers={"Retry-After": str(int(window))},
        )
