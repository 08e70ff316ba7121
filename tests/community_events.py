"""Dated community events for the ranking tests: upvotes cast by throw-away users.

Trending counts events inside a window (paperfeed.rank.trending), so a test that wants a
paper to trend gives it real votes rows with a time, not only a counter.
"""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import Engine, select

from paperfeed.store.community_schema import users, votes
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers

_serial = itertools.count()


def add_votes(engine: Engine, arxiv_id: str, n: int, on: dt.date | None = None) -> None:
    """``n`` upvotes on ``arxiv_id`` dated noon UTC of ``on`` (default: the paper's
    announcement day), by fresh users inserted without password hashing; the paper's
    ``upvotes`` counter moves with them, as the vote store keeps it."""
    with write_transaction(engine) as conn:
        paper_id, announced = conn.execute(
            select(papers.c.id, papers.c.announced_on).where(papers.c.arxiv_id == arxiv_id)
        ).one()
        when = dt.datetime.combine(on or announced, dt.time(12), tzinfo=dt.UTC)
        names = [f"voter{next(_serial)}x{arxiv_id.replace('.', '')}" for _ in range(n)]
        conn.execute(users.insert(), [
            {"username": name, "email": f"{name}@example.org", "password_hash": "-",
             "created_at": when} for name in names
        ])
        uids = conn.execute(select(users.c.id).where(users.c.username.in_(names))).scalars()
        conn.execute(votes.insert(), [
            {"user_id": uid, "paper_id": paper_id, "created_at": when} for uid in uids
        ])
        conn.execute(papers.update().where(papers.c.id == paper_id)
                     .values(upvotes=papers.c.upvotes + n))
