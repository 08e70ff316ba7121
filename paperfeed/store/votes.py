"""Upvotes: one per user per paper; ``papers.upvotes`` kept exact in the same transaction.

The counter only moves by the number of rows the same statement pair really inserted or
deleted (``ON CONFLICT DO NOTHING`` / ``DELETE``), with an atomic ``upvotes = upvotes ± 1``,
so concurrent voters never lose or double-count a vote. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from .community_schema import votes
from .data_version import bump_data_version
from .database import dialect
from .schema import papers


@dataclass(frozen=True, slots=True)
class VoteResult:
    voted: bool  # does the user now upvote the paper?
    upvotes: int  # the paper's count after the change


def _lock_paper(conn: Connection, paper_id: int) -> None:
    # Serialise the votes on one paper (PostgreSQL row lock; SQLite writers are serialised
    # by BEGIN IMMEDIATE already). Without it, two concurrent toggles by the same person
    # both see "no vote yet": the second insert then hits ON CONFLICT and its toggle is lost.
    conn.execute(select(papers.c.id).where(papers.c.id == paper_id).with_for_update())


def set_vote(conn: Connection, user_id: int, paper_id: int, on: bool) -> VoteResult:
    """Make the user's vote on the paper be ``on`` (idempotent). Side effects: a votes row
    inserted or deleted, papers.upvotes moved by exactly that, the data version bumped."""
    _lock_paper(conn, paper_id)
    if on:
        stmt = dialect(conn).insert(votes).values(
            user_id=user_id, paper_id=paper_id, created_at=dt.datetime.now(dt.UTC)
        ).on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
        changed = len(conn.execute(stmt.returning(votes.c.paper_id)).all())
        delta = 1
    else:
        changed = len(conn.execute(
            delete(votes)
            .where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)
            .returning(votes.c.user_id)
        ).all())
        delta = -1
    if changed:
        conn.execute(
            update(papers)
            .where(papers.c.id == paper_id)
            .values(upvotes=papers.c.upvotes + delta)
        )
        bump_data_version(conn)
    count = conn.execute(select(papers.c.upvotes).where(papers.c.id == paper_id)).scalar_one()
    return VoteResult(voted=on, upvotes=int(count))


def toggle_vote(conn: Connection, user_id: int, paper_id: int) -> VoteResult:
    """Flip the user's vote on the paper: add it when absent, remove it when present."""
    _lock_paper(conn, paper_id)
    deleted = conn.execute(
        delete(votes)
        .where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)
        .returning(votes.c.user_id)
    ).all()
    if deleted:
        conn.execute(
            update(papers).where(papers.c.id == paper_id).values(upvotes=papers.c.upvotes - 1)
        )
        bump_data_version(conn)
        count = conn.execute(select(papers.c.upvotes).where(papers.c.id == paper_id)).scalar_one()
        return VoteResult(voted=False, upvotes=int(count))
    return set_vote(conn, user_id, paper_id, True)


def voted_paper_ids(conn: Connection, user_id: int, paper_ids: Iterable[int]) -> set[int]:
    """Which of ``paper_ids`` the user has upvoted (to mark vote buttons as pressed)."""
    ids = list(paper_ids)
    if not ids:
        return set()
    return set(
        conn.execute(
            select(votes.c.paper_id).where(votes.c.user_id == user_id, votes.c.paper_id.in_(ids))
        ).scalars()
    )


def user_upvoted_ids(conn: Connection, user_id: int, *, limit: int = 200) -> list[int]:
    """The user's upvoted paper ids, newest vote first (personalisation uses these)."""
    return list(
        conn.execute(
            select(votes.c.paper_id)
            .where(votes.c.user_id == user_id)
            .order_by(votes.c.created_at.desc())
            .limit(limit)
        ).scalars()
    )
