"""User accounts: argon2id password hashes, email verification, admin flags, deletion.

Functions take a connection and never commit. :class:`User` never carries the password
hash: only :func:`authenticate` and :func:`set_password` touch it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Row, delete, func, select, update

from paperfeed.email_addresses import is_email_address

from .community_schema import comments, users, votes
from .mail_schema import subscriptions
from .public_ids import new_id_values
from .schema import papers

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,38}[a-z0-9]$")
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,255}\.[^@\s<>\"']{2,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
RESERVED = {"admin", "api", "me", "new", "settings", "login", "logout", "signup", "static"}

# argon2id (the library default type) with RFC 9106's second recommended parameter set.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
# Verified against when the email is unknown, so that both answers take as long.
_DUMMY_HASH = _hasher.hash("paperfeed-no-such-user-dummy-password")


class AccountError(ValueError):
    """A sign-up or profile change that cannot be made; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str
    display_name: str
    bio: str
    email_verified: bool
    is_admin: bool
    disabled: bool
    created_at: dt.datetime

    @property
    def name(self) -> str:
        return self.display_name or self.username


def _user(row: Row) -> User:
    return User(
        id=row.id,
        username=row.username,
        email=row.email,
        display_name=row.display_name,
        bio=row.bio,
        email_verified=row.email_verified_at is not None,
        is_admin=bool(row.is_admin),
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


_PUBLIC = [c for c in users.c if c.name != "password_hash"]


def hash_password(password: str) -> str:
    """An argon2id encoded hash of ``password``."""
    return _hasher.hash(password)


def check_new_password(password: str) -> None:
    """Raise AccountError when ``password`` is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError("That password is too long.")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    conn: Connection, *, username: str, email: str, password: str, is_admin: bool = False,
    verified: bool = False,
) -> User:
    """Insert a user. Raises AccountError for an invalid or taken username/email or a weak
    password. Only ``is_admin=True`` makes an admin (the CLI's ``users add --admin``): the
    first sign-up is an ordinary user like every other."""
    username = username.strip().lower()
    email = normalize_email(email)
    if not USERNAME.match(username) or username in RESERVED:
        raise AccountError(
            "Usernames are 3-40 characters: lower-case letters, digits, '-' and '_'."
        )
    if not EMAIL.match(email) or not is_email_address(email):
        raise AccountError("That does not look like an email address.")
    check_new_password(password)
    if get_user_by_username(conn, username):
        raise AccountError("That username is taken.")
    if get_user_by_email(conn, email):
        raise AccountError("An account with that email already exists.")
    now = dt.datetime.now(dt.UTC)
    uid = conn.execute(
        users.insert()
        .values(
            **new_id_values(conn, "users"),
            username=username, email=email, password_hash=hash_password(password),
            display_name="", bio="", is_admin=is_admin, disabled=False, created_at=now,
            email_verified_at=now if verified else None,
        )
        .returning(users.c.id)
    ).scalar_one()
    user = get_user(conn, uid)
    assert user is not None
    return user


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(*_PUBLIC).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def get_user_by_email(conn: Connection, email: str) -> User | None:
    row = conn.execute(select(*_PUBLIC).where(users.c.email == normalize_email(email))).first()
    return _user(row) if row else None


def get_user_by_username(conn: Connection, username: str) -> User | None:
    row = conn.execute(
        select(*_PUBLIC).where(users.c.username == username.strip().lower())
    ).first()
    return _user(row) if row else None


def authenticate(conn: Connection, email: str, password: str) -> User | None:
    """The active user with this email and password, else None.

    Unknown emails are verified against a dummy hash, so that "no such user" and "wrong
    password" take the same time. Disabled users never authenticate.
    """
    row = conn.execute(
        select(users.c.id, users.c.password_hash, users.c.disabled).where(
            users.c.email == normalize_email(email)
        )
    ).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(
            update(users).where(users.c.id == row.id).values(password_hash=hash_password(password))
        )
    return get_user(conn, row.id)


def password_fingerprint(conn: Connection, user_id: int) -> str:
    """A short digest of the stored hash: reset links embed it, so they die once used."""
    import hashlib

    stored = conn.execute(
        select(users.c.password_hash).where(users.c.id == user_id)
    ).scalar_one_or_none()
    return hashlib.sha256((stored or "").encode()).hexdigest()[:16]


def set_password(conn: Connection, user_id: int, password: str) -> None:
    """Replace a user's password (checked for length). Callers also end their sessions."""
    check_new_password(password)
    conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=hash_password(password))
    )


def mark_email_verified(conn: Connection, user_id: int, email: str) -> bool:
    """Mark the address verified if it is still the user's address; True when it is."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.email == normalize_email(email))
        .values(email_verified_at=func.coalesce(users.c.email_verified_at, func.now()))
    )
    return result.rowcount == 1


def update_profile(conn: Connection, user_id: int, *, display_name: str, bio: str) -> None:
    """Change the public profile text (plain text, trimmed to its limits)."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(display_name=display_name.strip()[:80], bio=bio.strip()[:2000])
    )


def set_user_disabled(conn: Connection, user_id: int, disabled: bool) -> None:
    """Disable (or re-enable) an account; a disabled user cannot log in or act."""
    conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))


def list_users(conn: Connection, *, limit: int | None = 100, offset: int = 0,
               oldest_first: bool = False) -> list[User]:
    """Users, newest first (for the admin area) or oldest first; ``limit=None`` for all."""
    order = users.c.id.asc() if oldest_first else users.c.id.desc()
    rows = conn.execute(select(*_PUBLIC).order_by(order).limit(limit).offset(offset)).all()
    return [_user(r) for r in rows]


def find_user(conn: Connection, name: str) -> User | None:
    """The user whose username or (when ``name`` contains '@') email is ``name``, else None."""
    return get_user_by_email(conn, name) if "@" in name else get_user_by_username(conn, name)


def set_user_admin(conn: Connection, user_id: int, is_admin: bool) -> None:
    """Grant or take away admin rights (only the CLI does: no web sign-up is ever admin)."""
    conn.execute(update(users).where(users.c.id == user_id).values(is_admin=is_admin))


def delete_user(conn: Connection, user_id: int) -> None:
    """Delete an account and, by cascade, its votes, comments, collections, submissions,
    sessions and API tokens. ``papers.upvotes`` and ``papers.num_comments`` drop by what
    the user contributed (in this transaction); a submitted paper stays in the database
    but leaves the feed day it was submitted to; a digest subscription stays, no longer
    linked to an account. Bumps the data version so cached pages forget the user."""
    from .data_version import bump_data_version

    voted = select(votes.c.paper_id).where(votes.c.user_id == user_id).scalar_subquery()
    conn.execute(update(papers).where(papers.c.id.in_(voted))
                 .values(upvotes=papers.c.upvotes - 1))
    shown = (select(comments.c.paper_id, func.count().label("n"))
             .where(comments.c.user_id == user_id, comments.c.hidden.is_(False))
             .group_by(comments.c.paper_id))
    for paper_id, n in conn.execute(shown).all():
        conn.execute(update(papers).where(papers.c.id == paper_id)
                     .values(num_comments=papers.c.num_comments - n))
    conn.execute(update(subscriptions).where(subscriptions.c.user_id == user_id)
                 .values(user_id=None))
    conn.execute(delete(users).where(users.c.id == user_id))
    bump_data_version(conn)
