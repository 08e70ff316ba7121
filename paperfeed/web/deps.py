"""The typed FastAPI dependencies of the whole web side (pages, JSON API, feeds).

create_app builds each service once and keeps it on ``app.state``; routers take them
through these (parameters, or the ``get_*`` functions inside helpers):

- ``SettingsDep``, ``EngineDep``, ``DbConn`` (a read connection for the request; writes
  open their own transaction with ``write_transaction``);
- ``OptionalUser`` / ``CurrentUser`` / ``AdminUser`` from the session cookie (pages), and
  ``OptionalTokenUser`` / ``TokenUser`` from a personal API token (JSON API);
- ``EmbedderDep`` (``.get()`` is None when the model cannot load: web/services.py),
  ``MailerDep``, ``ChangeClockDep``, ``Limiter``, ``Views``;
- ``CsrfChecked`` guards every state-changing form; ``RowId`` types row ids in paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine

from paperfeed.config import Settings
from paperfeed.mail import Mailer
from paperfeed.store.database import write_transaction
from paperfeed.store.sessions import session_user
from paperfeed.store.tokens import user_for_token
from paperfeed.store.users import User

from .api.errors import ApiError
from .api.paper_views import PaperViews
from .client_address import client_key
from .pagecache import ChangeClock
from .ratelimit import RateLimiter
from .security import SESSION_COOKIE, verify_csrf
from .services import SiteEmbedder

# The service getters live in web/state.py (modules below deps read them there too) and
# are re-exported here, so routes import every dependency from one place.
from .state import get_change_clock as get_change_clock
from .state import get_data_version as get_data_version
from .state import get_embedder as get_embedder
from .state import get_engine as get_engine
from .state import get_limiter as get_limiter
from .state import get_links as get_links
from .state import get_login_throttle as get_login_throttle
from .state import get_mailer as get_mailer
from .state import get_page_cache as get_page_cache
from .state import get_settings as get_settings
from .state import get_similar_cache as get_similar_cache


class LoginRequired(Exception):
    """Raised by CurrentUser for anonymous visitors; answered with a redirect to /login."""


class Forbidden(HTTPException):
    def __init__(self, detail: str = "You are not allowed to do that.") -> None:
        super().__init__(status_code=403, detail=detail)


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection for reads; closed (and its implicit transaction rolled back) after."""
    with get_engine(request).connect() as conn:
        yield conn


def paper_views(request: Request) -> PaperViews:
    """API object builders for this site."""
    return PaperViews(get_settings(request).base_url)


def load_user(request: Request) -> User | None:
    """The logged-in user (cached on the request), or None."""
    if hasattr(request.state, "user"):
        return request.state.user
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        with get_engine(request).connect() as conn:
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


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="personal token",
    description="A personal API token from account settings: `Authorization: Bearer pf_...`",
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="paperfeed"'}


def token_user(
    engine: Annotated[Engine, Depends(get_engine)],
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


def required_token_user(user: Annotated[User | None, Depends(token_user)]) -> User:
    """The token's user, or 401 when the request carries no token."""
    if user is None:
        raise ApiError(
            401, "this endpoint needs a personal API token: Authorization: Bearer pf_...",
            headers=CHALLENGE,
        )
    return user


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
DbConn = Annotated[Connection, Depends(get_conn)]
Limiter = Annotated[RateLimiter, Depends(get_limiter)]
EmbedderDep = Annotated[SiteEmbedder, Depends(get_embedder)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
ChangeClockDep = Annotated[ChangeClock, Depends(get_change_clock)]
Views = Annotated[PaperViews, Depends(paper_views)]
OptionalUser = Annotated[User | None, Depends(load_user)]
CurrentUser = Annotated[User, Depends(require_user)]
AdminUser = Annotated[User, Depends(require_admin)]
OptionalTokenUser = Annotated[User | None, Depends(token_user)]
TokenUser = Annotated[User, Depends(required_token_user)]
CsrfChecked = Depends(verify_csrf)
# Row ids in paths: positive and within both databases' BIGINT.
RowId = Annotated[int, Path(ge=1, le=2**62)]


def client_address(request: Request) -> str:
    """The per-client rate-limit key (web/client_address.py: behind trusted proxies the
    forwarded client, IPv6 by /64)."""
    return client_key(request)
