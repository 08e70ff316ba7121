"""User accounts: credentials, email verification, admin flags, deletion.

Functions take a connection and never commit. :class:`User` never carries the password
hash: only :class:`Credentials` (read by :func:`load_credentials`) and the setters touch
it. Hashing lives in store/passwords.py and happens outside write transactions: callers
hash first (:func:`~paperfeed.store.passwords.hash_password`) and pass the hash in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Row, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from paperfeed.email_addresses import is_email_address

from .community_schema import comments, users, votes
from .mail_schema import recommendation_feedback, subscriptions
from .passwords import MAX_PASSWORD, hash_password, needs_rehash, verify_password
from .public_ids import new_id_values
from .schema import papers

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,38}[a-z0-9]$")
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']{1,255}\.[^@\s<>\"']{2,63}$")
MIN_PASSWORD = 10
RESERVED = {"admin", "api", "me", "new", "settings", "login", "logout", "signup", "static"}


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
    theme: str = ""  # "" follows the system (prefers-color-scheme) | light | dark

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
        theme=row.theme or "",
    )


_PUBLIC = [c for c in users.c if c.name != "password_hash"]


def check_new_password(password: str) -> None:
    """Raise AccountError when ``password`` is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError("That password is too long.")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str) -> str:
    """``email`` normalised (trimmed, lower-case); AccountError unless it is one address."""
    email = normalize_email(email)
    if not EMAIL.match(email) or not is_email_address(email):
        raise AccountError("That does not look like an email address.")
    return email


def check_sign_up(username: str, email: str, password: str) -> tuple[str, str]:
    """The normalised (username, email) of a sign-up form; raises AccountError for a
    malformed or reserved username, a malformed address or a weak password. Needs no
    database, so a form is judged whole before anyone looks its address up."""
    username = username.strip().lower()
    if not USERNAME.match(username) or username in RESERVED:
        raise AccountError(
            "Usernames are 3-40 characters: lower-case letters, digits, '-' and '_'."
        )
    email = checked_email(email)
    check_new_password(password)
    return username, email


def create_user(
    conn: Connection, *, username: str, email: str, password: str, is_admin: bool = False,
    verified: bool = False, password_hash: str | None = None,
) -> User:
    """Insert a user. Raises AccountError for an invalid or taken username/email or a weak
    password. Only ``is_admin=True`` makes an admin (the CLI's ``users add --admin``): the
    first sign-up is an ordinary user like every other. Web callers pass ``password_hash``
    (of ``password``, made before their write transaction) so no hash runs inside it."""
    username, email = check_sign_up(username, email, password)
    if get_user_by_username(conn, username):
        raise AccountError("That username is taken.")
    if get_user_by_email(conn, email):
        raise AccountError("An account with that email already exists.")
    now = dt.datetime.now(dt.UTC)
    uid = conn.execute(
        users.insert()
        .values(
            **new_id_values(conn, "users"),
            username=username, email=email,
            password_hash=password_hash or hash_password(password),
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


@dataclass(frozen=True, slots=True)
class Credentials:
    """What checking a password needs: read on a read connection, checked after it."""

    user_id: int
    password_hash: str
    disabled: bool

    def check(self, password: str) -> bool:
        """The password is right and the account may log in (argon2: call outside any
        write transaction)."""
        return verify_password(self.password_hash, password) and not self.disabled


def load_credentials(conn: Connection, email: str) -> Credentials | None:
    """The stored credentials of the account with this email, else None."""
    row = conn.execute(
        select(users.c.id, users.c.password_hash, users.c.disabled).where(
            users.c.email == normalize_email(email)
        )
    ).first()
    return Credentials(row.id, row.password_hash, bool(row.disabled)) if row else None


def check_credentials(found: Credentials | None, password: str) -> bool:
    """True when ``found`` exists, is active and ``password`` is its password. A missing
    account is checked against a dummy hash, so "no such user" and "wrong password" take
    the same time."""
    if found is None:
        verify_password(None, password)
        return False
    return found.check(password)


def rehash_if_needed(found: Credentials, password: str) -> str | None:
    """A hash of the (verified) ``password`` with today's parameters when the stored one
    is weaker, else None; store it with :func:`store_password_hash`."""
    return hash_password(password) if needs_rehash(found.password_hash) else None


def authenticate(conn: Connection, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (for the CLI and tests:
    it hashes on ``conn``; the web verifies with :func:`load_credentials` and
    :func:`check_credentials` outside any write transaction)."""
    found = load_credentials(conn, email)
    if found is None or not check_credentials(found, password):
        return None
    return get_user(conn, found.user_id)


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
    store_password_hash(conn, user_id, hash_password(password))


def store_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Store a hash made (and its password checked) before the write transaction."""
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def mark_email_verified(conn: Connection, user_id: int, email: str) -> bool:
    """Mark the address verified if it is still the user's address; True when it is."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.email == normalize_email(email))
        .values(email_verified_at=func.coalesce(users.c.email_verified_at, func.now()))
    )
    return result.rowcount == 1


def change_email(conn: Connection, user_id: int, old: str, new: str) -> bool:
    """Move the account from address ``old`` to ``new`` (verified now: the caller checked a
    link sent there), and the digest subscription linked to the account with it unless
    ``new`` already has one. False, and nothing changed, when the account's address is no
    longer ``old`` (a newer change, or the link was used). AccountError when another
    account has ``new`` meanwhile."""
    new = checked_email(new)
    holder = get_user_by_email(conn, new)
    if holder is not None and holder.id != user_id:
        raise AccountError("Another account uses that address now.")
    try:  # another account may take ``new`` between the check above and this write
        moved = conn.execute(
            update(users).where(users.c.id == user_id, users.c.email == normalize_email(old))
            .values(email=new, email_verified_at=func.now())
        ).rowcount
    except IntegrityError as exc:  # the unique address: the transaction is rolled back
        raise AccountError("Another account uses that address now.") from exc
    if not moved:
        return False
    if conn.execute(select(subscriptions.c.id).where(subscriptions.c.email == new)).first() is None:
        conn.execute(update(subscriptions)
                     .where(subscriptions.c.user_id == user_id,
                            subscriptions.c.email == normalize_email(old))
                     .values(email=new))
    return True


def account_subscription_ids(conn: Connection, user_id: int) -> list[int]:
    """The digest subscriptions that belong to the account: linked to it, or at its
    address once verified (someone who signs up with an address they do not own never
    gets hold of that address's subscription)."""
    row = conn.execute(select(users.c.email, users.c.email_verified_at)
                       .where(users.c.id == user_id)).first()
    owned = subscriptions.c.user_id == user_id
    if row is not None and row.email_verified_at is not None:
        owned = or_(owned, subscriptions.c.email == row.email)
    return list(conn.execute(select(subscriptions.c.id).where(owned)
                             .order_by(subscriptions.c.id)).scalars())


def verify_email_once(conn: Connection, user_id: int, email: str) -> bool:
    """Mark the address verified if it is still the user's address and not verified yet;
    True when this call verified it (so a verification link works once)."""
    result = conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.email == normalize_email(email),
               users.c.email_verified_at.is_(None))
        .values(email_verified_at=func.now())
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
    """Disable (or re-enable) an account; a disabled user cannot log in or act. Raises
    LastAdminError rather than disable the last active admin."""
    if disabled:
        ensure_admin_remains(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))


class LastAdminError(AccountError):
    """The change would leave the site without an active (enabled) admin."""


def ensure_admin_remains(conn: Connection, user_id: int) -> None:
    """Raise LastAdminError when ``user_id`` is the only active admin (so demoting,
    disabling or deleting them would leave nobody to run the site). The active admins'
    rows are locked (PostgreSQL), so two concurrent demotions cannot both pass."""
    active = list(conn.execute(
        select(users.c.id, users.c.username)
        .where(users.c.is_admin.is_(True), users.c.disabled.is_(False))
        .with_for_update()
    ).all())
    if len(active) == 1 and active[0].id == user_id:
        raise LastAdminError(
            f"{active[0].username} is the last active admin: make another user an admin "
            "first (paperfeed users promote NAME)."
        )


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
    """Grant or take away admin rights (only the CLI does: no web sign-up is ever admin).
    Raises LastAdminError rather than demote the last active admin."""
    if not is_admin:
        ensure_admin_remains(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id).values(is_admin=is_admin))


def delete_user(conn: Connection, user_id: int) -> None:
    """Delete an account: the one deletion path of ``paperfeed users delete`` and of the
    settings page's "Delete my account". What happens to what the user made
    (docs/deploying.md, "Accounts: changing the address, leaving, taking your data", says
    the same):

    - votes and comments are removed, and ``papers.upvotes`` / ``papers.num_comments``
      drop by exactly what the user contributed (hidden comments were never counted);
      other people's replies stay, as top comments (``parent_id`` / ``root_id`` SET NULL);
    - collections (with their items), submissions (the paper stays in the database but
      leaves the feed day it was submitted to), sessions, API tokens, follows, seen papers,
      team channels the user owns, notifications (theirs and those about their comments),
      notification settings and the reports they filed are removed by the foreign keys'
      cascade;
    - the user's digest subscription (linked to the account, or at the account's verified
      address) is removed with its interest vectors and send history, and so is their
      "not interested" feedback;
    - trending has nothing to adjust: its events are read from these rows.

    Raises LastAdminError for the last active admin. Bumps the data version so cached
    pages forget the user. Takes a connection and never commits.
    """
    from .data_version import bump_data_version

    ensure_admin_remains(conn, user_id)
    # Lock the account first: a concurrent vote or comment by this user (which needs a
    # key-share lock on this row, PostgreSQL) waits, then fails, instead of slipping in
    # after the counting and being cascaded away uncounted.
    if conn.execute(select(users.c.id).where(users.c.id == user_id).with_for_update()
                    ).first() is None:
        return
    voted = select(votes.c.paper_id).where(votes.c.user_id == user_id).scalar_subquery()
    conn.execute(update(papers).where(papers.c.id.in_(voted))
                 .values(upvotes=papers.c.upvotes - 1))
    shown = (select(comments.c.paper_id, func.count().label("n"))
             .where(comments.c.user_id == user_id, comments.c.hidden.is_(False))
             .group_by(comments.c.paper_id))
    for paper_id, n in conn.execute(shown).all():
        conn.execute(update(papers).where(papers.c.id == paper_id)
                     .values(num_comments=papers.c.num_comments - n))
    sub_ids = account_subscription_ids(conn, user_id)
    subjects = [f"user:{user_id}", *(f"sub:{i}" for i in sub_ids)]
    conn.execute(delete(recommendation_feedback)
                 .where(recommendation_feedback.c.subject.in_(subjects)))
    if sub_ids:
        conn.execute(delete(subscriptions).where(subscriptions.c.id.in_(sub_ids)))
    conn.execute(delete(users).where(users.c.id == user_id))
    bump_data_version(conn)


THEMES = ("", "light", "dark")  # "" follows the system's prefers-color-scheme


def set_theme(conn: Connection, user_id: int, theme: str) -> None:
    """Remember the user's colour theme (one of THEMES; ValueError otherwise)."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES}")
    conn.execute(update(users).where(users.c.id == user_id).values(theme=theme))
