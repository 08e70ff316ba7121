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


def leave_footprint(engine: Engine, user_id: int, arxiv_ids: list[str]) -> dict[str, int]:
    """Everything an account can make, by ``user_id`` on the papers ``arxiv_ids`` (5 of
    them, a..e): votes on a and b; a visible comment on a and one on b that an admin hid;
    a collection holding c then a; the submission of d; a "not interested" on e (as a user
    and as the digest subscriber at the account's address, subscribed and confirmed); an
    API token; a session; a followed category (cs.CV); a and c seen. Returns the paper ids
    by letter and the subscription id."""
    from paperfeed.store.collections import add_to_collection, create_collection
    from paperfeed.store.comments import add_comment, set_comment_hidden
    from paperfeed.store.follows import Owner, add_follow
    from paperfeed.store.seen import mark_seen
    from paperfeed.store.sessions import create_session
    from paperfeed.store.submissions import record_submission
    from paperfeed.store.subscriptions import (
        Preferences,
        mark_not_interested,
        upsert_subscription,
    )
    from paperfeed.store.tokens import create_token
    from paperfeed.store.users import get_user
    from paperfeed.store.votes import set_vote

    with write_transaction(engine) as conn:
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.id)
                            .where(papers.c.arxiv_id.in_(arxiv_ids))).all()
        by_arxiv = {r.arxiv_id: r.id for r in rows}
        ids = {letter: by_arxiv[a] for letter, a in zip("abcde", arxiv_ids, strict=True)}
        user = get_user(conn, user_id)
        assert user is not None
        set_vote(conn, user_id, ids["a"], True)
        set_vote(conn, user_id, ids["b"], True)
        add_comment(conn, ids["a"], user_id, f"{user.username} likes this")
        set_comment_hidden(conn, add_comment(conn, ids["b"], user_id, "off-topic"), True)
        collection = create_collection(conn, user_id, "To read", description="later")
        add_to_collection(conn, collection, user_id, ids["c"])
        add_to_collection(conn, collection, user_id, ids["a"])
        record_submission(conn, ids["d"], user_id, dt.date(2025, 3, 20))
        sub, _ = upsert_subscription(conn, user.email, Preferences(interests=["graphs"]),
                                     confirmed=True, user_id=user_id)
        mark_not_interested(conn, f"user:{user_id}", ids["e"])
        mark_not_interested(conn, f"sub:{sub.id}", ids["e"])
        create_token(conn, user_id, "laptop")
        create_session(conn, user_id, user_agent="pytest")
        add_follow(conn, Owner(user_id=user_id), "category", "cs.CV")
        mark_seen(conn, user_id, [ids["a"], ids["c"]])
    return {**ids, "subscription": sub.id}
