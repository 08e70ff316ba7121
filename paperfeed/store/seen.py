"""Read state of signed-in users: the papers they opened, voted on or dismissed, and the
marks behind "new since your last visit". Anonymous visitors store nothing.

One ``seen_papers`` row per user and paper (not per impression: seeing a paper again
changes nothing). Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from .community_schema import users
from .database import dialect
from .follow_schema import seen_papers
from .schema import papers

VISIT_GAP = dt.timedelta(hours=1)  # this long without a visit starts a new one
ACTIVE_STEP = dt.timedelta(minutes=5)  # refresh active_at at most this often


def mark_seen(conn: Connection, user_id: int, paper_ids: Iterable[int]) -> None:
    """Note that the user has seen these papers (idempotent)."""
    now = dt.datetime.now(dt.UTC)
    rows = [{"user_id": user_id, "paper_id": pid, "seen_at": now} for pid in set(paper_ids)]
    if rows:
        conn.execute(dialect(conn).insert(seen_papers).on_conflict_do_nothing(), rows)


def seen_paper_ids(conn: Connection, user_id: int, paper_ids: Iterable[int]) -> set[int]:
    """Which of ``paper_ids`` the user has seen."""
    ids = sorted(set(paper_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 900):
        found.update(conn.execute(select(seen_papers.c.paper_id).where(
            seen_papers.c.user_id == user_id,
            seen_papers.c.paper_id.in_(ids[start:start + 900]))).scalars())
    return found


def record_visit(conn: Connection, user_id: int, now: dt.datetime | None = None
                 ) -> dt.datetime | None:
    """Count a look at the daily page as (part of) a visit; returns when the previous
    visit began (None on a first visit).

    A visit ends after ``VISIT_GAP`` without one: the next look moves ``active_at`` into
    ``last_visit_at``. Within a visit ``active_at`` is written at most every
    ``ACTIVE_STEP``, so reading pages does not mean a write per request."""
    now = now or dt.datetime.now(dt.UTC)
    row = conn.execute(select(users.c.last_visit_at, users.c.active_at)
                       .where(users.c.id == user_id)).first()
    if row is None:
        return None
    last, active = row.last_visit_at, row.active_at
    if active is None or now - active > VISIT_GAP:
        last = active
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(last_visit_at=last, active_at=now))
    elif now - active > ACTIVE_STEP:
        conn.execute(update(users).where(users.c.id == user_id).values(active_at=now))
    return last


def new_since(conn: Connection, paper_ids: Iterable[int], since: dt.datetime) -> set[int]:
    """Which of ``paper_ids`` arrived (were first seen by the site) after ``since``."""
    ids = sorted(set(paper_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 900):
        found.update(conn.execute(select(papers.c.id).where(
            papers.c.id.in_(ids[start:start + 900]), papers.c.first_seen_at > since)).scalars())
    return found

