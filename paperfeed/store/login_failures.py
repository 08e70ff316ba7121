"""Failed log-ins per account, for the growing per-account delay (web/login_throttle.py).

Rows are keyed by a digest of the address that was typed, whether or not an account has
it, so that known and unknown addresses are treated alike and no address is stored.
Functions take a connection and never commit.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, select

from .community_schema import login_failures
from .database import dialect
from .rate_limits import key_digest


def failures_of(conn: Connection, key: str) -> tuple[int, float]:
    """(failures in a row, unix time of the last one) for ``key``; (0, 0.0) if none."""
    row = conn.execute(
        select(login_failures.c.failures, login_failures.c.last_failed_at)
        .where(login_failures.c.key_digest == key_digest(key))
    ).first()
    return (int(row.failures), float(row.last_failed_at)) if row else (0, 0.0)


def record_failure(conn: Connection, key: str, now: float, forget_after: float) -> None:
    """Count one more failure of ``key`` at ``now``; a row whose last failure is older than
    ``forget_after`` seconds starts again at one."""
    stale = login_failures.c.last_failed_at < now - forget_after
    conn.execute(
        dialect(conn).insert(login_failures)
        .values(key_digest=key_digest(key), failures=1, last_failed_at=now)
        .on_conflict_do_update(
            index_elements=["key_digest"],
            set_={"failures": case((stale, 1), else_=login_failures.c.failures + 1),
                  "last_failed_at": now},
        )
    )


def clear_failures(conn: Connection, key: str) -> None:
    """Forget ``key``'s failures (it logged in)."""
    conn.execute(delete(login_failures).where(login_failures.c.key_digest == key_digest(key)))


def prune_failures(conn: Connection, before: float) -> int:
    """Delete rows whose last failure is older than ``before`` (unix seconds)."""
    return conn.execute(
        delete(login_failures).where(login_failures.c.last_failed_at < before)
    ).rowcount or 0
