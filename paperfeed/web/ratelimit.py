"""Rate limits (sliding window) for log-in, sign-up, votes, comments, submits.

Keys: the client address (web/client_address.py) for anonymous actions, :func:`user_key`
for a user's actions (the same key for pages and the JSON API, so one user has one
budget), :func:`address_key` for mail to an email address.

Limits are (events, seconds) per bucket and key. With an engine (what the app uses) the
counters live in the database (store/rate_limits.py), so every server process shares one
budget: N workers do not give a client N times the limit. Without one, or when the
database cannot be written, the counters are kept in this process (exact sliding window).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
PRUNE_PROBABILITY = 0.01  # share of shared-counter hits that also delete expired windows

LIMITS: dict[str, tuple[int, float]] = {
    "login": (10, 300.0),  # per client address (per account: web/login_throttle.py)
    "signup": (5, 3600.0),  # per client address
    "reset": (5, 3600.0),  # per client address
    "account-mail": (5, 3600.0),  # per email address: sign-up, reset and verify mail
    "vote": (60, 60.0),  # per user
    "comment": (10, 60.0),  # per user
    "submit": (10, 3600.0),  # per user
    "collection": (60, 60.0),  # per user
    "search": (60, 60.0),  # per client address: page, API and Atom search
    "similar": (60, 60.0),  # per client address: similar papers (page and API)
    "feed": (60, 60.0),  # per client address: personal Atom feeds
}


def user_key(user_id: int) -> str:
    """The key of a user's own budgets (pages and API alike)."""
    return f"user:{user_id}"


def address_key(email: str) -> str:
    """The key of an email address's budget, known account or not."""
    return "address:" + email.strip().lower()


class RateLimiter:
    """``allow(bucket, key)`` is False once ``key`` used up the bucket's limit."""

    def __init__(self, limits: dict[str, tuple[int, float]] | None = None, *,
                 enabled: bool = True, engine: Engine | None = None) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self.enabled = enabled
        self.engine = engine
        self._events: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, bucket: str, key: str) -> bool:
        if not self.enabled:
            return True
        count, window = self.limits[bucket]
        if self.engine is not None:
            try:
                return self._allow_shared(bucket, key, count, window)
            except SQLAlchemyError:
                log.warning("shared rate limit unavailable; counting in this process",
                            exc_info=True)
        now = time.monotonic()
        with self._lock:
            if len(self._events) > 100_000:
                self._events.clear()  # memory bound under a flood of distinct keys
            events = self._events.setdefault((bucket, key), deque())
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= count:
                return False
            events.append(now)
            return True

    def _allow_shared(self, bucket: str, key: str, count: int, window: float) -> bool:
        from paperfeed.store.database import write_transaction
        from paperfeed.store.rate_limits import prune_hits, take

        assert self.engine is not None
        now = time.time()
        with write_transaction(self.engine) as conn:
            allowed = take(conn, bucket, key, count, now, window)
            if random.random() < PRUNE_PROBABILITY:
                prune_hits(conn, now, max(w for _, w in self.limits.values()))
        return allowed
