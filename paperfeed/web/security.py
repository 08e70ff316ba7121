"""Web security pieces: CSRF tokens, cookies, security headers, signed email links.

CSRF: every visitor gets a random ``pf_csrf`` cookie (HttpOnly, SameSite=Lax); forms carry
HMAC(secret, cookie | session cookie) in a hidden ``csrf_token`` field (or the
``X-CSRF-Token`` header for progressive JS). A cross-site page can neither read the cookie
nor compute the HMAC. Cached anonymous pages hold :data:`CSRF_PLACEHOLDER`, swapped for
the visitor's token when served.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, ClassVar

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .state import get_settings

CSRF_COOKIE = "pf_csrf"
SESSION_COOKIE = "pf_session"
CSRF_FIELD = "csrf_token"
# Random per process, and only ever swapped inside a form field's quoted value attribute
# (see :func:`fill_csrf_placeholder`): user content is HTML-escaped, so it can neither name
# the placeholder nor forge the quotes around it.
CSRF_PLACEHOLDER = f"__PF_CSRF_{secrets.token_hex(12)}__"
_CSRF_SLOT = f'value="{CSRF_PLACEHOLDER}"'

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def secure_cookies(request: Request) -> bool:
    return str(get_settings(request).base_url).startswith("https://")


def csrf_secret(request: Request) -> str:
    """The visitor's CSRF cookie value, created (and remembered for the response) if new."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if not (20 <= len(value) <= 64):
        value = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
        request.state.new_csrf = value
    return value


def csrf_token(request: Request) -> str:
    """The token forms must send back for this visitor: bound to the CSRF cookie and to
    the session, so a token learnt before logging in (or planted with a tossed cookie)
    is worthless after it."""
    key = get_settings(request).secret_key.encode()
    message = f"{csrf_secret(request)}|{request.cookies.get(SESSION_COOKIE, '')}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:40]


def fill_csrf_placeholder(html: str, token: str) -> str:
    """A cached anonymous page with this visitor's CSRF token in its form fields."""
    return html.replace(_CSRF_SLOT, f'value="{token}"')


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the CSRF cookie when this request created it."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, max_age=60 * 60 * 24 * 365, httponly=True, samesite="lax",
            secure=secure_cookies(request), path="/",
        )


async def verify_csrf(request: Request) -> None:
    """Dependency for state-changing routes: 403 unless the CSRF token matches."""
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not sent or not cookie or not hmac.compare_digest(sent, csrf_token(request)):
        raise HTTPException(
            status_code=403,
            detail="This form has expired or did not come from this site. Reload the page "
            "and try again.",
        )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=60 * 60 * 24 * 30, httponly=True, samesite="lax",
        secure=secure_cookies(request), path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


class SecurityHeaders:
    """Pure-ASGI middleware adding CSP and friends to every response (cheap: no
    BaseHTTPMiddleware). The CSP allows no inline script: even a missed escape cannot run;
    /docs (Swagger UI, vendored, no inline script) gets it too. With ``hsts`` (base_url is
    https) browsers are told to use https only. Account settings pages, which show API
    token secrets, are never stored by a browser or proxy cache."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
    NO_STORE = (b"cache-control", b"no-store")
    PRIVATE_PATHS = ("/settings",)

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*self.HEADERS, self.HSTS] if hsts else list(self.HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if scope["path"].startswith(self.PRIVATE_PATHS):
            extra.append(self.NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if self.NO_STORE in extra:  # replaces any weaker cache-control
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                names = {k.lower() for k, _ in headers}
                message["headers"] = headers + [(k, v) for k, v in extra if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SignedLinks:
    """Signed, expiring tokens for email links (verify address, reset password, confirm a
    new address). Verify and reset links name the account's password fingerprint, so a
    password change ends them."""

    VERIFY_MAX_AGE = 60 * 60 * 24 * 3
    RESET_MAX_AGE = 60 * 60

    def __init__(self, secret_key: str) -> None:
        self._verify = URLSafeTimedSerializer(secret_key, salt="paperfeed.verify-email")
        self._reset = URLSafeTimedSerializer(secret_key, salt="paperfeed.reset-password")
        self._email_change = URLSafeTimedSerializer(secret_key, salt="paperfeed.change-email")

    def verify_token(self, user_id: int, email: str, fingerprint: str) -> str:
        return self._verify.dumps({"u": user_id, "e": email, "f": fingerprint})

    def reset_token(self, user_id: int, fingerprint: str) -> str:
        return self._reset.dumps({"u": user_id, "f": fingerprint})

    def email_change_token(self, user_id: int, old: str, new: str) -> str:
        """Sent to ``new``; it moves the account there while its address is still ``old``."""
        return self._email_change.dumps({"u": user_id, "o": old, "n": new})

    def read_email_change(self, token: str) -> dict[str, Any] | None:
        return self._load(self._email_change, token, self.VERIFY_MAX_AGE)

    def read_verify(self, token: str) -> dict[str, Any] | None:
        return self._load(self._verify, token, self.VERIFY_MAX_AGE)

    def read_reset(self, token: str) -> dict[str, Any] | None:
        return self._load(self._reset, token, self.RESET_MAX_AGE)

    @staticmethod
    def _load(s: URLSafeTimedSerializer, token: str, max_age: int) -> dict[str, Any] | None:
        try:
            data = s.loads(token, max_age=max_age)
        except (BadSignature, SignatureExpired, ValueError, TypeError):
            return None
        return data if isinstance(data, dict) else None
