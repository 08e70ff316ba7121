"""Log-in limits that slow guessing without letting anyone lock an owner out.

Per client, the ``login`` budget of web/ratelimit.py bounds what one address may try. Per
account, a growing delay slows guessers who rotate addresses: the first
:data:`FREE_FAILURES` failures in a row cost nothing, then every failure doubles the time
before the next attempt is even checked (1 s, 2 s, 4 s ... at most :data:`MAX_DELAY`);
attempts inside that time are refused unchecked (429), right password or not. The account
is the address typed, hashed, whether or not an account has it: known and unknown
addresses get the same answers.

A delay anyone can extend would still keep an owner waiting, so a browser that has logged
in to the account before carries a signed device cookie (``pf_device``) and skips the
per-account delay (never the per-client budget). A new device can always reset the
password by email instead.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from paperfeed.store.database import write_transaction
from paperfeed.store.login_failures import (
    clear_failures,
    failures_of,
    prune_failures,
    record_failure,
)
from paperfeed.store.users import normalize_email

from .ratelimit import RateLimiter
from .security import secure_cookies

FREE_FAILURES = 5
MAX_DELAY = 300.0
FORGET_AFTER = 24 * 3600.0  # failures older than this no longer count
DEVICE_COOKIE = "pf_device"
DEVICE_MAX_AGE = 365 * 24 * 3600
PRUNE_PROBABILITY = 0.01


def account_delay(failures: int) -> float:
    """Seconds an account with ``failures`` failures in a row waits after the last one."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(2.0 ** (failures - FREE_FAILURES), MAX_DELAY)


def account_key(email: str) -> str:
    return "account:" + normalize_email(email)


class LoginThrottle:
    """The per-account delay and device cookies of one app. It is on while the app's
    rate limiter is (the ``rate_limits`` setting, or a test's switch), always without one."""

    def __init__(self, engine: Engine, secret_key: str, *, limiter: RateLimiter | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.limiter = limiter
        self.clock = clock
        self._devices = URLSafeTimedSerializer(secret_key, salt="paperfeed.login-device")

    @property
    def enabled(self) -> bool:
        return self.limiter is None or self.limiter.enabled

    def wait_seconds(self, request: Request, email: str) -> float:
        """How long this attempt must still wait (0: check the password now)."""
        if not self.enabled or self._known_device(request, email):
            return 0.0
        try:
            with self.engine.connect() as conn:
                failures, last = failures_of(conn, account_key(email))
        except SQLAlchemyError:  # e.g. not migrated yet: the per-client budget still holds
            return 0.0
        return max(0.0, last + account_delay(failures) - self.clock())

    def failed(self, email: str) -> None:
        """Count a failed attempt (wrong password, unknown or disabled account)."""
        if not self.enabled:
            return
        now = self.clock()
        try:
            with write_transaction(self.engine) as conn:
                record_failure(conn, account_key(email), now, FORGET_AFTER)
                if random.random() < PRUNE_PROBABILITY:
                    prune_failures(conn, now - FORGET_AFTER)
        except SQLAlchemyError:  # e.g. not migrated yet: the per-client budget still holds
            pass

    def succeeded(self, conn: Connection, email: str) -> None:
        """Forget the account's failures (in the log-in's own write transaction)."""
        if self.enabled:
            clear_failures(conn, account_key(email))

    def remember_device(self, request: Request, response: Response, email: str) -> None:
        """Mark this browser as one that logged in to the account."""
        response.set_cookie(
            DEVICE_COOKIE, self._devices.dumps(_digest(email)), max_age=DEVICE_MAX_AGE,
            httponly=True, samesite="lax", secure=secure_cookies(request), path="/login",
        )

    def _known_device(self, request: Request, email: str) -> bool:
        cookie = request.cookies.get(DEVICE_COOKIE, "")
        if not cookie or len(cookie) > 200:
            return False
        try:
            return bool(self._devices.loads(cookie, max_age=DEVICE_MAX_AGE) == _digest(email))
        except BadSignature:
            return False


def _digest(email: str) -> str:
    return hashlib.blake2b(account_key(email).encode(), digest_size=16).hexdigest()

