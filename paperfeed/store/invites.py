"""Sign-up invites: one-time tokens an operator hands out (``paperfeed users invite``).

Only the sha256 of a token is stored. An invite is usable until it expires or is used once;
:func:`use_invite` consumes it atomically, so two sign-ups racing on one invite cannot both
succeed. Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, select, update

from .community_schema import invites


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(conn: Connection, *, expires_in: dt.timedelta,
                  now: dt.datetime | None = None) -> str:
    """Store a new invite valid for ``expires_in``; returns its token (shown once)."""
    now = now or dt.datetime.now(dt.UTC)
    token = secrets.token_urlsafe(32)
    conn.execute(invites.insert().values(token_hash=_digest(token), created_at=now,
                                         expires_at=now + expires_in))
    return token


def invite_is_usable(conn: Connection, token: str, *, now: dt.datetime | None = None) -> bool:
    """True when ``token`` names an invite that is neither used nor expired."""
    now = now or dt.datetime.now(dt.UTC)
    row = conn.execute(
        select(invites.c.expires_at, invites.c.used_at)
        .where(invites.c.token_hash == _digest(token))
    ).first()
    return row is not None and row.used_at is None and row.expires_at > now


def use_invite(conn: Connection, token: str, user_id: int, *,
               now: dt.datetime | None = None) -> bool:
    """Mark the invite used by ``user_id``; False (and nothing changed) when the token is
    unknown, expired or already used."""
    now = now or dt.datetime.now(dt.UTC)
    result = conn.execute(
        update(invites)
        .where(invites.c.token_hash == _digest(token), invites.c.used_at.is_(None),
               invites.c.expires_at > now)
        .values(used_at=now, used_by=user_id)
    )
    return result.rowcount == 1
