"""Per-user keys of personal feed URLs (web/feeds/personal.py mixes them into the URL).

A user without a key (every account made before migration 0013) keeps the URL it always
had; :func:`rotate_feed_key` gives the user a new random key, which changes the URL and
kills the old one. Functions take a connection and never commit.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select, update

from .community_schema import users


def feed_key(conn: Connection, user_id: int) -> str | None:
    """The user's feed key, or None while it was never rotated."""
    return conn.execute(select(users.c.feed_key).where(users.c.id == user_id)).scalar()


def rotate_feed_key(conn: Connection, user_id: int) -> str:
    """Give the user a new random feed key; returns it."""
    key = secrets.token_urlsafe(24)
    conn.execute(update(users).where(users.c.id == user_id).values(feed_key=key))
    return key
