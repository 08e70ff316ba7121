"""Follows: the authors, categories and saved searches a person follows (one model).

The follow buttons (author, category and search pages), the "Following" page and the
digest form all edit these rows; "For you", the digest and the personal Atom feed rank
with them (paperfeed.rank.profiles) and say which follow matched. A follow is owned by an
account (:class:`Owner` with ``user_id``) or, for a mail-only subscriber, by the
subscription. Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from .follow_schema import follows

KINDS = ("author", "category", "search")
LIMITS = {"search": 10, "author": 50, "category": 50}  # follows per owner and kind
WIDTHS = {"search": 200, "author": 120, "category": 32}  # characters kept of a value
SEARCH_FILTERS = ("category", "author")  # what a saved search keeps of the search form


class InvalidFollow(ValueError):
    """The follow cannot be made; the message says why and is safe to show."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose follows: an account, or a subscription without one."""

    user_id: int | None = None
    subscription_id: int | None = None

    def condition(self) -> ColumnElement[bool]:
        if self.user_id is not None:
            return follows.c.user_id == self.user_id
        return follows.c.subscription_id == self.subscription_id

    def values(self) -> dict[str, int | None]:
        return {"user_id": self.user_id,
                "subscription_id": None if self.user_id is not None else self.subscription_id}


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    kind: str  # author | category | search
    value: str
    filters: dict[str, str] = field(default_factory=dict)
    created_at: dt.datetime | None = None

    @property
    def label(self) -> str:
        """What the follow is, in a few words: ``‘graph networks’ in cs.LG``."""
        if self.kind != "search":
            return self.value
        extra = [f"in {self.filters['category']}"] if self.filters.get("category") else []
        extra += [f"by {self.filters['author']}"] if self.filters.get("author") else []
        return " ".join([f"‘{self.value}’", *extra])

    @property
    def url(self) -> str:
        """The page the follow was made from."""
        if self.kind == "author":
            return "/authors/" + quote(self.value, safe="")
        if self.kind == "category":
            return "/categories/" + quote(self.value, safe="")
        return "/search?" + urlencode({"q": self.value, **self.filters})


def _text(value: str, width: int) -> str:
    return " ".join(str(value).split())[:width]


def clean_follow(kind: str, value: str, filters: dict[str, Any] | None = None
                 ) -> tuple[str, str, dict[str, str]]:
    """(kind, value, filters) trimmed and checked; raises InvalidFollow."""
    if kind not in KINDS:
        raise InvalidFollow(f"one can follow an {', a '.join(KINDS)}")
    text = _text(value or "", WIDTHS[kind])
    if not text:
        raise InvalidFollow(f"the {kind} to follow is empty")
    kept: dict[str, str] = {}
    if kind == "search":
        for key in SEARCH_FILTERS:
            given = _text(str((filters or {}).get(key) or ""), WIDTHS["author"])
            if given:
                kept[key] = given
    return kind, text, kept


def _follow(row: Any) -> Follow:
    filters = row.filters if isinstance(row.filters, dict) else {}
    return Follow(row.id, row.kind, row.value, {str(k): str(v) for k, v in filters.items()},
                  row.created_at)


def list_follows(conn: Connection, owner: Owner, kind: str | None = None) -> list[Follow]:
    """The owner's follows, oldest first (of one ``kind`` when given)."""
    query = select(follows).where(owner.condition()).order_by(follows.c.id)
    if kind is not None:
        query = query.where(follows.c.kind == kind)
    return [_follow(r) for r in conn.execute(query)]


def follows_of_owners(conn: Connection, owners: Sequence[Owner]) -> dict[Owner, list[Follow]]:
    """{owner: follows, oldest first} for many owners in one query per 900 of them."""
    found: dict[Owner, list[Follow]] = {o: [] for o in owners}
    users = sorted({o.user_id for o in owners if o.user_id is not None})
    subs = sorted({o.subscription_id for o in owners
                   if o.user_id is None and o.subscription_id is not None})
    for column, ids in ((follows.c.user_id, users), (follows.c.subscription_id, subs)):
        for start in range(0, len(ids), 900):
            rows = conn.execute(select(follows).where(column.in_(ids[start:start + 900]))
                                .order_by(follows.c.id))
            for row in rows:
                key = (Owner(user_id=row.user_id) if row.user_id is not None
                       else Owner(subscription_id=row.subscription_id))
                found.setdefault(key, []).append(_follow(row))
    return found


def find_follow(conn: Connection, owner: Owner, kind: str, value: str,
                filters: dict[str, Any] | None = None) -> Follow | None:
    """The owner's follow of exactly this (case-insensitive value, same filters), or None."""
    try:
        kind, value, kept = clean_follow(kind, value, filters)
    except InvalidFollow:
        return None
    for follow in list_follows(conn, owner, kind):
        if follow.value.lower() == value.lower() and follow.filters == kept:
            return follow
    return None


def add_follow(conn: Connection, owner: Owner, kind: str, value: str,
               filters: dict[str, Any] | None = None) -> Follow:
    """Follow something (idempotent: an existing equal follow is returned).

    Raises InvalidFollow for a bad kind or value, or when the owner already follows
    ``LIMITS[kind]`` things of that kind."""
    kind, value, kept = clean_follow(kind, value, filters)
    existing = find_follow(conn, owner, kind, value, kept)
    if existing is not None:
        return existing
    if len(list_follows(conn, owner, kind)) >= LIMITS[kind]:
        raise InvalidFollow(f"you can follow at most {LIMITS[kind]} of this kind; "
                            "remove one on the Following page first")
    now = dt.datetime.now(dt.UTC)
    follow_id = conn.execute(
        insert(follows).values(**owner.values(), kind=kind, value=value, filters=kept,
                               created_at=now).returning(follows.c.id)
    ).scalar_one()
    return Follow(follow_id, kind, value, kept, now)


def remove_follow(conn: Connection, owner: Owner, follow_id: int) -> bool:
    """Stop following; True if the owner had this follow."""
    result = conn.execute(delete(follows).where(owner.condition(), follows.c.id == follow_id))
    return result.rowcount > 0


def set_follows(conn: Connection, owner: Owner, kind: str, values: Iterable[str]) -> None:
    """Make the owner follow exactly ``values`` of ``kind`` (the digest form's lists).

    Follows whose value stays keep their row and filters (a saved search edited as one
    line of text keeps its category); the rest are removed; new values are added without
    filters. At most ``LIMITS[kind]`` values are kept."""
    wanted: dict[str, str] = {}
    for value in values:
        text = _text(value, WIDTHS[kind])
        if text and text.lower() not in wanted:
            wanted[text.lower()] = text
    kept: set[str] = set()
    for follow in list_follows(conn, owner, kind):
        key = follow.value.lower()
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            remove_follow(conn, owner, follow.id)
    now = dt.datetime.now(dt.UTC)
    new = [v for k, v in wanted.items() if k not in kept][: max(0, LIMITS[kind] - len(kept))]
    if new:
        conn.execute(insert(follows), [
            {**owner.values(), "kind": kind, "value": v, "filters": {}, "created_at": now}
            for v in new
        ])


def move_follows(conn: Connection, source: Owner, target: Owner) -> None:
    """Give ``source``'s follows to ``target`` (a subscription linked to an account, or an
    account deleted while its subscription stays); equal follows are not doubled."""
    if source == target:
        return
    have = {(f.kind, f.value.lower(), tuple(sorted(f.filters.items())))
            for f in list_follows(conn, target)}
    for follow in list_follows(conn, source):
        key = (follow.kind, follow.value.lower(), tuple(sorted(follow.filters.items())))
        if key in have:
            remove_follow(conn, source, follow.id)
        else:
            have.add(key)
            conn.execute(update(follows).where(follows.c.id == follow.id)
                         .values(**target.values()))

