"""In-process rate limits (sliding window) for log-in, sign-up, votes, comments, submits.

Per process: with N workers a client gets at most N times the limit, which still stops
password guessing and spam floods. Limits are (events, seconds) per bucket and key.
"""

from __future__ import annotations

import threading
import time
from collections import deque

LIMITS: dict[str, tuple[int, float]] = {
    "login": (10, 300.0),  # per client address and per email
    "signup": (5, 3600.0),  # per client address
    "reset": (5, 3600.0),  # per client address
    "vote": (60, 60.0),  # per user
    "comment": (10, 60.0),  # per user
    "submit": (10, 3600.0),  # per user
    "collection": (60, 60.0),  # per user
}


class RateLimiter:
    """``allow(bucket, key)`` is False once ``key`` used up the bucket's limit."""

    def __init__(self, limits: dict[str, tuple[int, float]] | None = None, *,
                 enabled: bool = True) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self.enabled = enabled
        self._events: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, bucket: str, key: str) -> bool:
        if not self.enabled:
            return True
        count, window = self.limits[bucket]
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
