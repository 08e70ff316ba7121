"""Rate-limit counters in the database, so that every server process shares one budget.

Fixed windows per (bucket, key), read as a sliding window: the previous window's hits
count in proportion to how much of it still lies inside the sliding window (the estimate
Cloudflare and others use; exact at the start, never more than one window's worth off).
Keys are stored as digests, never as addresses or emails.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, delete, select, update

from .community_schema import rate_limit_hits
from .database import dialect


def key_digest(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def take(conn: Connection, bucket: str, key: str, limit: int, now: float,
         window: float) -> bool:
    """Count one hit of ``key`` in ``bucket`` if the sliding-window estimate of its hits over
    the last ``window`` seconds, this one included, stays within ``limit``; True if it did.
    Refused hits are not counted (a client over the limit is free again once its earlier
    hits age out). Call inside a write transaction."""
    span = max(int(window), 1)
    start = int(now) // span * span
    digest = key_digest(key)
    this_window = (rate_limit_hits.c.bucket == bucket, rate_limit_hits.c.key_digest == digest,
                   rate_limit_hits.c.window_start == start)
    insert = dialect(conn).insert(rate_limit_hits).values(
        bucket=bucket, key_digest=digest, window_start=start, hits=1)
    current = conn.execute(
        insert.on_conflict_do_update(
            index_elements=["bucket", "key_digest", "window_start"],
            set_={"hits": rate_limit_hits.c.hits + 1},
        ).returning(rate_limit_hits.c.hits)
    ).scalar_one()
    previous = conn.execute(
        select(rate_limit_hits.c.hits).where(
            rate_limit_hits.c.bucket == bucket, rate_limit_hits.c.key_digest == digest,
            rate_limit_hits.c.window_start == start - span)
    ).scalar_one_or_none() or 0
    overlap = max(1.0 - (now - start) / span, 0.0)
    if current + previous * overlap <= limit:
        return True
    conn.execute(update(rate_limit_hits).where(*this_window)
                 .values(hits=rate_limit_hits.c.hits - 1))
    return False


def prune_hits(conn: Connection, now: float, longest_window: float) -> int:
    """Delete windows that can no longer count (older than two of the longest windows)."""
    cutoff = int(now - 2 * max(longest_window, 1.0))
    return conn.execute(
        delete(rate_limit_hits).where(rate_limit_hits.c.window_start < cutoff)
    ).rowcount or 0
