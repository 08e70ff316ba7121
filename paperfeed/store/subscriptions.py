"""Digest subscriptions: create, confirm, update preferences, unsubscribe, record bounces.

A subscription is keyed by a lower-cased email address and is ``pending`` until the double
opt-in link is followed (operators may add already-confirmed addresses). What it follows
(interests as saved searches, authors, categories) lives in ``follows`` (store/follows.py):
the account's follows when the subscription is linked to one, else its own. Functions take
a connection and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from paperfeed.email_addresses import is_email_address

from .database import dialect
from .follows import Follow, Owner, follows_of_owners, move_follows, set_follows
from .interest_vectors import load_interest_vectors
from .mail_schema import recommendation_feedback, subscriptions
from .public_ids import new_id_values

STATUSES = ("pending", "active", "paused", "unsubscribed")
FREQUENCIES = ("daily", "weekly")
CONTENTS = ("trending", "personal", "both")
MAX_INTERESTS = 10
MAX_PAPERS = 50
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class InvalidSubscription(ValueError):
    """The address or a preference is not acceptable; the message says why."""


@dataclass(slots=True)
class Preferences:
    """What a subscriber wants in a digest (validated by :func:`clean_preferences`).

    ``interests`` (saved searches), ``authors`` and ``categories`` are the follows as the
    digest form shows them, one line each; the rest are columns of the subscription."""

    frequency: str = "daily"
    content: str = "both"
    interests: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    exclude_categories: list[str] = field(default_factory=list)
    muted_keywords: list[str] = field(default_factory=list)
    max_papers: int = 10


@dataclass(slots=True)
class Subscription:
    id: int
    email: str
    status: str
    prefs: Preferences
    user_id: int | None = None
    failures: int = 0
    last_error: str | None = None
    created_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    follows: list[Follow] = field(default_factory=list)

    @property
    def owner(self) -> Owner:
        """Whose follows this subscription's digest uses."""
        return owner_of(self.id, self.user_id)


def owner_of(sub_id: int, user_id: int | None) -> Owner:
    """The account of a linked subscription, else the subscription itself."""
    return Owner(user_id=user_id) if user_id is not None else Owner(subscription_id=sub_id)


def normalize_email(email: str) -> str:
    """Lower-cased, trimmed address; raises InvalidSubscription when it is not one."""
    value = (email or "").strip().lower()
    if not _EMAIL.match(value) or not is_email_address(value):
        raise InvalidSubscription(f"not an email address: {email!r}")
    return value


def _clean_list(values: Iterable[str] | str | None, *, limit: int, width: int = 200) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = re.split(r"[\n;]+", values)
    seen: dict[str, str] = {}
    for value in values:
        text = " ".join(str(value).split())[:width]
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())[:limit]


def clean_preferences(prefs: Preferences) -> Preferences:
    """A copy of ``prefs`` with lists trimmed and de-duplicated and choices checked."""
    if prefs.frequency not in FREQUENCIES:
        raise InvalidSubscription(f"frequency must be one of {', '.join(FREQUENCIES)}")
    if prefs.content not in CONTENTS:
        raise InvalidSubscription(f"content must be one of {', '.join(CONTENTS)}")
    return Preferences(
        frequency=prefs.frequency,
        content=prefs.content,
        interests=_clean_list(prefs.interests, limit=MAX_INTERESTS),
        authors=_clean_list(prefs.authors, limit=50, width=120),
        categories=_clean_list(prefs.categories, limit=50, width=32),
        exclude_categories=_clean_list(prefs.exclude_categories, limit=50, width=32),
        muted_keywords=_clean_list(prefs.muted_keywords, limit=50, width=80),
        max_papers=max(1, min(MAX_PAPERS, int(prefs.max_papers))),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row_to_subscription(row: Any, follows: Sequence[Follow]) -> Subscription:
    return Subscription(
        id=row.id,
        email=row.email,
        status=row.status,
        user_id=row.user_id,
        failures=row.failures,
        last_error=row.last_error,
        created_at=row.created_at,
        confirmed_at=row.confirmed_at,
        follows=list(follows),
        prefs=Preferences(
            frequency=row.frequency,
            content=row.content,
            interests=[f.value for f in follows if f.kind == "search"],
            authors=[f.value for f in follows if f.kind == "author"],
            categories=[f.value for f in follows if f.kind == "category"],
            exclude_categories=list(row.exclude_categories or []),
            muted_keywords=list(row.muted_keywords or []),
            max_papers=row.max_papers,
        ),
    )


def _with_follows(conn: Connection, rows: Sequence[Any]) -> list[Subscription]:
    owners = [owner_of(r.id, r.user_id) for r in rows]
    found = follows_of_owners(conn, owners)
    return [_row_to_subscription(r, found.get(o, [])) for r, o in zip(rows, owners, strict=True)]


def followed_preferences(conn: Connection, owner: Owner) -> Preferences:
    """Default preferences with the owner's follows: the digest form of an account that
    has no subscription yet shows what it already follows."""
    found = follows_of_owners(conn, [owner]).get(owner, [])
    return Preferences(interests=[f.value for f in found if f.kind == "search"],
                       authors=[f.value for f in found if f.kind == "author"],
                       categories=[f.value for f in found if f.kind == "category"])


def _pref_values(prefs: Preferences) -> dict[str, Any]:
    return {
        "frequency": prefs.frequency,
        "content": prefs.content,
        "exclude_categories": prefs.exclude_categories,
        "muted_keywords": prefs.muted_keywords,
        "max_papers": prefs.max_papers,
    }


def _save_follows(conn: Connection, owner: Owner, prefs: Preferences) -> None:
    set_follows(conn, owner, "search", prefs.interests)
    set_follows(conn, owner, "author", prefs.authors)
    set_follows(conn, owner, "category", prefs.categories)


def upsert_subscription(
    conn: Connection,
    email: str,
    prefs: Preferences,
    *,
    confirmed: bool = False,
    user_id: int | None = None,
    source: str = "web",
    follows: bool = True,
) -> tuple[Subscription, bool]:
    """Create or update the subscription of ``email``; returns (subscription, needs_confirmation).

    A new or unsubscribed address becomes ``pending`` (or ``active`` when ``confirmed``);
    an active or paused one keeps its status and gets the new preferences. The follows of
    its owner become ``prefs``' lists unless ``follows`` is False (a form without them).
    Linking the subscription to ``user_id`` hands its own follows to the account.
    """
    address = normalize_email(email)
    prefs = clean_preferences(prefs)
    now = _now()
    row = conn.execute(select(subscriptions).where(subscriptions.c.email == address)).first()
    status = "active" if confirmed else "pending"
    values = _pref_values(prefs) | {"updated_at": now, "source": source}
    if user_id is not None:
        values["user_id"] = user_id
    if row is None:
        sub_id = conn.execute(
            insert(subscriptions)
            .values(
                **new_id_values(conn, "subscriptions"),
                email=address,
                status=status,
                created_at=now,
                confirmed_at=now if confirmed else None,
                **values,
            )
            .returning(subscriptions.c.id)
        ).scalar_one()
    else:
        sub_id = row.id
        if row.status in ("pending", "unsubscribed") or (confirmed and row.status == "paused"):
            values |= {"status": status, "unsubscribed_at": None, "failures": 0}
            values["confirmed_at"] = now if confirmed else None
        conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(**values))
        if user_id is not None and row.user_id is None:
            move_follows(conn, Owner(subscription_id=sub_id), Owner(user_id=user_id))
    if follows:
        _save_follows(conn, owner_of(sub_id, user_id if user_id is not None else
                                     (row.user_id if row is not None else None)), prefs)
    sub = get_subscription(conn, sub_id)
    assert sub is not None
    return sub, sub.status == "pending"


def get_subscription(conn: Connection, sub_id: int) -> Subscription | None:
    """The subscription with this id, or None."""
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).first()
    return _with_follows(conn, [row])[0] if row else None


def get_subscriptions(conn: Connection, sub_ids: Sequence[int]) -> dict[int, Subscription]:
    """Subscriptions by id (missing ids are absent), in one query per 900 ids."""
    found: dict[int, Subscription] = {}
    for start in range(0, len(sub_ids), 900):
        chunk = list(sub_ids[start : start + 900])
        rows = conn.execute(select(subscriptions).where(subscriptions.c.id.in_(chunk))).all()
        found.update((s.id, s) for s in _with_follows(conn, rows))
    return found


def find_subscription(
    conn: Connection, *, email: str | None = None, user_id: int | None = None
) -> Subscription | None:
    """The subscription of an address or of an account, or None."""
    query = select(subscriptions)
    if email is not None:
        query = query.where(subscriptions.c.email == email.strip().lower())
    elif user_id is not None:
        query = query.where(subscriptions.c.user_id == user_id).order_by(subscriptions.c.id)
    else:
        raise ValueError("give email or user_id")
    row = conn.execute(query.limit(1)).first()
    return _with_follows(conn, [row])[0] if row else None


def list_subscriptions(
    conn: Connection,
    *,
    status: str | None = None,
    frequency: str | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> list[Subscription]:
    """Subscriptions ordered by id, optionally filtered by status and frequency."""
    query = select(subscriptions).where(subscriptions.c.id > after_id).order_by(subscriptions.c.id)
    if status:
        query = query.where(subscriptions.c.status == status)
    if frequency:
        query = query.where(subscriptions.c.frequency == frequency)
    if limit:
        query = query.limit(limit)
    return _with_follows(conn, conn.execute(query).all())


def count_subscriptions(conn: Connection) -> dict[str, int]:
    """Number of subscriptions per status."""
    rows = conn.execute(
        select(subscriptions.c.status, func.count()).group_by(subscriptions.c.status)
    ).all()
    return {status: n for status, n in rows}


def confirm_subscription(conn: Connection, sub_id: int, email: str) -> Subscription | None:
    """Activate a pending subscription (double opt-in); None when id and email do not match.

    Confirming twice is harmless; an unsubscribed address is re-activated because the
    link proves the mailbox owner asked for it.
    """
    sub = get_subscription(conn, sub_id)
    if sub is None or sub.email != email.strip().lower():
        return None
    if sub.status in ("pending", "unsubscribed"):
        now = _now()
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == sub_id)
            .values(status="active", confirmed_at=now, updated_at=now, unsubscribed_at=None,
                    failures=0)
        )
    return get_subscription(conn, sub_id)


def update_preferences(conn: Connection, sub_id: int, prefs: Preferences) -> Subscription:
    """Replace the preferences of a subscription and its owner's follows (status unchanged)."""
    prefs = clean_preferences(prefs)
    old = get_subscription(conn, sub_id)
    if old is None:
        raise InvalidSubscription(f"no subscription {sub_id}")
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == sub_id)
        .values(**_pref_values(prefs), updated_at=_now())
    )
    _save_follows(conn, old.owner, prefs)
    new = get_subscription(conn, sub_id)
    assert new is not None
    return new


def unsubscribe(conn: Connection, sub_id: int) -> bool:
    """Stop all digests to this subscription; True if it was receiving or pending them."""
    now = _now()
    result = conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == sub_id, subscriptions.c.status != "unsubscribed")
        .values(status="unsubscribed", unsubscribed_at=now, updated_at=now)
    )
    return result.rowcount > 0


def delete_subscription(conn: Connection, email: str) -> bool:
    """Remove an address and everything recorded about it; True if it existed."""
    result = conn.execute(
        delete(subscriptions).where(subscriptions.c.email == email.strip().lower())
    )
    return result.rowcount > 0


def record_delivery(conn: Connection, sub_id: int, *, error: str | None, limit: int) -> bool:
    """Note a delivery outcome: success clears the failure count; a permanent failure
    increments it and pauses the subscription at ``limit``. Returns True when paused now."""
    if error is None:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == sub_id, subscriptions.c.failures > 0)
            .values(failures=0)
        )
        return False
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == sub_id)
        .values(failures=subscriptions.c.failures + 1, last_error=error[:500], updated_at=_now())
    )
    paused = conn.execute(
        update(subscriptions)
        .where(
            subscriptions.c.id == sub_id,
            subscriptions.c.failures >= limit,
            subscriptions.c.status == "active",
        )
        .values(status="paused")
    )
    return paused.rowcount > 0


def subscriptions_missing_vectors(
    conn: Connection, model_id: str, limit: int = 1000
) -> list[Subscription]:
    """Active or pending subscriptions whose saved searches have no current vectors from
    ``model_id`` (none yet, or made for other texts: the follows changed since)."""
    found: list[Subscription] = []
    after = 0
    while len(found) < limit:
        rows = conn.execute(
            select(subscriptions)
            .where(subscriptions.c.status.in_(("active", "pending")), subscriptions.c.id > after)
            .order_by(subscriptions.c.id)
            .limit(1000)
        ).all()
        if not rows:
            break
        page = _with_follows(conn, rows)
        stored = load_interest_vectors(conn, [s.id for s in page], model_id)
        found += [s for s in page if s.prefs.interests
                  and [text for text, _ in stored.get(s.id, [])] != s.prefs.interests]
        after = rows[-1].id
    return found[:limit]


def mark_not_interested(conn: Connection, subject: str, paper_id: int) -> None:
    """Record a "not interested" click of ``subject`` ("user:<id>" or "sub:<id>") on a paper."""
    stmt = dialect(conn).insert(recommendation_feedback).values(
        subject=subject, paper_id=paper_id, kind="not_interested", created_at=_now()
    )
    conn.execute(stmt.on_conflict_do_nothing())


def not_interested_papers(conn: Connection, subjects: Sequence[str]) -> dict[str, list[int]]:
    """{subject: [paper id, ...]} of "not interested" feedback."""
    found: dict[str, list[int]] = {}
    for start in range(0, len(subjects), 900):
        rows = conn.execute(
            select(recommendation_feedback.c.subject, recommendation_feedback.c.paper_id).where(
                recommendation_feedback.c.subject.in_(list(subjects[start : start + 900])),
                recommendation_feedback.c.kind == "not_interested",
            )
        )
        for subject, paper_id in rows:
            found.setdefault(subject, []).append(paper_id)
    return found
