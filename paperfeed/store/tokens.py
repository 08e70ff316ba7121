"""Personal API tokens: created in account settings, shown once, stored as sha256.

The JSON API authenticates writes (votes, submissions) with ``Authorization: Bearer pf_...``
through :func:`user_for_token`. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, update

from .community_schema import api_tokens, users
from .public_ids import new_id_values
from .users import User, get_user

PREFIX = "pf_"
MAX_TOKENS = 20


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, user_id: int, name: str) -> tuple[str, ApiToken]:
    """A new token for the user: (the secret to show once, its stored record).

    Raises ValueError when the user already has MAX_TOKENS tokens.
    """
    count = conn.execute(
        select(func.count()).select_from(api_tokens).where(api_tokens.c.user_id == user_id)
    ).scalar_one()
    if count >= MAX_TOKENS:
        raise ValueError(f"You can have at most {MAX_TOKENS} tokens; revoke one first.")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    name = name.strip()[:80] or "token"
    tid = conn.execute(
        api_tokens.insert()
        .values(**new_id_values(conn, "api_tokens"), user_id=user_id, name=name,
                token_hash=_digest(secret), prefix=secret[:10], created_at=now)
        .returning(api_tokens.c.id)
    ).scalar_one()
    return secret, ApiToken(int(tid), name, secret[:10], now, None)


def list_tokens(conn: Connection, user_id: int) -> list[ApiToken]:
    """The user's tokens (never their secrets), newest first."""
    rows = conn.execute(
        select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id.desc())
    ).all()
    return [ApiToken(r.id, r.name, r.prefix, r.created_at, r.last_used_at) for r in rows]


def revoke_token(conn: Connection, user_id: int, token_id: int) -> bool:
    """Delete one of the user's tokens."""
    result = conn.execute(
        delete(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)
    )
    return result.rowcount == 1


def user_for_token(conn: Connection, secret: str | None, *, touch: bool = False) -> User | None:
    """The active user a token belongs to, else None. ``touch`` records the use time."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    row = conn.execute(
        select(api_tokens.c.id, api_tokens.c.user_id)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == _digest(secret), users.c.disabled.is_(False))
    ).first()
    if row is None:
        return None
    if touch:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == row.id)
            .values(last_used_at=dt.datetime.now(dt.UTC))
        )
    return get_user(conn, row.user_id)


def revoke_all_tokens(conn: Connection, user_id: int) -> int:
    """Delete every token of the user (password reset, "revoke all"); returns how many."""
    return conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user_id)).rowcount or 0
