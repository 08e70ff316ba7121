"""Server-side login sessions: the cookie holds a random token, the table its sha256.

Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, delete, select

from .community_schema import sessions, users
from .users import User, get_user

SESSION_DAYS = 30


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(conn: Connection, user_id: int, *, user_agent: str = "") -> str:
    """Start a session for ``user_id``; returns the token for the cookie (never stored).
    Expired sessions (anyone's) are deleted on the way: they can never be used again."""
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    conn.execute(
        sessions.insert().values(
            token_hash=_digest(token), user_id=user_id, created_at=now,
            expires_at=now + dt.timedelta(days=SESSION_DAYS), user_agent=user_agent[:255],
        )
    )
    return token


def session_user(conn: Connection, token: str | None) -> User | None:
    """The active user of an unexpired session, else None (also for disabled users)."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        select(sessions.c.user_id, sessions.c.expires_at, users.c.disabled)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == _digest(token))
    ).first()
    if row is None or row.disabled:
        return None
    if row.expires_at < dt.datetime.now(dt.UTC):
        return None
    return get_user(conn, row.user_id)


def end_session(conn: Connection, token: str | None) -> None:
    """Log out: forget this session."""
    if token:
        conn.execute(delete(sessions).where(sessions.c.token_hash == _digest(token)))


def end_user_sessions(conn: Connection, user_id: int) -> None:
    """Forget every session of a user (password reset, account disabled)."""
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
