"""Listings: the papers of a day, an ISO week or a month, the trending window, the newest.

The read API that the HTML pages, the JSON API, the Atom feeds and the email digest share.
Every function takes a connection, never writes, and leaves hidden papers out.

"Today" is the newest announcement day in the database (:func:`today`), not the calendar:
a site fed by a nightly import shows that import's day as its front page.

A paper belongs to a period when it was announced in it, or when a user submitted it on a
day in it (``submissions.feed_day``): a known paper submitted today joins today's feed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from paperfeed.rank.cards import PaperCard, load_cards
from paperfeed.rank.periods import InvalidPeriod, Period
from paperfeed.rank.trending import WINDOW_DAYS, TrendingWindow, Window, score_window
from paperfeed.store.community_schema import submissions, users
from paperfeed.store.follow_schema import seen_papers
from paperfeed.store.schema import paper_categories, papers

Sort = Literal["votes", "published", "trending"]

MAX_LIMIT = 500


@dataclass(slots=True)
class Feed:
    """One page of a listing: the cards, how many there are in all, and where it sits."""

    period: Period | None
    items: list[PaperCard] = field(default_factory=list)
    total: int = 0
    limit: int = 50
    offset: int = 0
    window: Window | None = None

    @property
    def has_next_page(self) -> bool:
        return self.offset + len(self.items) < self.total


def today(conn: Connection) -> dt.date | None:
    """The newest announcement day of a visible paper: what the site calls "today"."""
    return conn.execute(
        select(func.max(papers.c.announced_on)).where(papers.c.hidden.is_(False))
    ).scalar_one()


def adjacent_days(conn: Connection, day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The nearest earlier and later days that have visible papers (skipping empty days)."""
    visible = papers.c.hidden.is_(False)
    prev_ = conn.execute(
        select(func.max(papers.c.announced_on)).where(visible, papers.c.announced_on < day)
    ).scalar_one()
    next_ = conn.execute(
        select(func.min(papers.c.announced_on)).where(visible, papers.c.announced_on > day)
    ).scalar_one()
    return prev_, next_


def _in_category(category: str) -> ColumnElement[bool]:
    return papers.c.id.in_(
        select(paper_categories.c.paper_id).where(paper_categories.c.category == category)
    )


def _unseen_by(user_id: int) -> ColumnElement[bool]:
    """Papers the user has not opened, voted on or dismissed (store/seen.py)."""
    return papers.c.id.not_in(
        select(seen_papers.c.paper_id).where(seen_papers.c.user_id == user_id)
    )


def _in_period(start: dt.date, end: dt.date) -> ColumnElement[bool]:
    submitted = select(submissions.c.paper_id).where(
        submissions.c.feed_day >= start, submissions.c.feed_day <= end
    )
    return and_(
        papers.c.hidden.is_(False),
        or_(
            and_(papers.c.announced_on >= start, papers.c.announced_on <= end),
            papers.c.id.in_(submitted),
        ),
    )


def list_period(
    conn: Connection,
    period: Period,
    *,
    sort: Sort = "trending",
    limit: int = 50,
    offset: int = 0,
    category: str | None = None,
    submitter: str | None = None,
    unseen_by: int | None = None,
) -> Feed:
    """The visible papers of ``period``, ranked by the trending score of the period's
    events (:func:`paperfeed.rank.trending.score_window`, the default), by local votes (then
    comments, then newest id) or by publication (newest first).

    ``category`` keeps papers listed in that arXiv category; ``submitter`` keeps papers a
    user (by username) submitted; ``unseen_by`` hides what that user has seen. ``limit``
    is clamped to 1..500, ``offset`` to >= 0.
    """
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    cond = _in_period(period.start, period.end)
    if category:
        cond = and_(cond, _in_category(category))
    if unseen_by is not None:
        cond = and_(cond, _unseen_by(unseen_by))
    if submitter:
        cond = and_(cond, papers.c.id.in_(
            select(submissions.c.paper_id)
            .join(users, users.c.id == submissions.c.user_id)
            .where(users.c.username == submitter.lower())
        ))
    if sort == "trending":
        window = TrendingWindow(period.start, period.end, today(conn))
        return _trending_page(conn, cond, window, period, limit, offset)
    total = conn.execute(select(func.count()).select_from(papers).where(cond)).scalar_one()
    order = (
        [papers.c.announced_on.desc(), papers.c.arxiv_id.desc()]
        if sort == "published"
        else [papers.c.upvotes.desc(), papers.c.num_comments.desc(), papers.c.arxiv_id.desc()]
    )
    ids = list(
        conn.execute(select(papers.c.id).where(cond).order_by(*order).limit(limit).offset(offset))
        .scalars()
    )
    cards = load_cards(conn, ids)
    return Feed(period, [cards[i] for i in ids if i in cards], int(total), limit, offset)


def trending(
    conn: Connection,
    window: Window = "week",
    *,
    limit: int = 50,
    offset: int = 0,
    as_of: dt.date | None = None,
    category: str | None = None,
    unseen_by: int | None = None,
) -> Feed:
    """Papers of the ``window`` (day / week / month) ending on ``as_of`` (default: today),
    ranked by :func:`paperfeed.rank.trending.score_window`, without what user ``unseen_by``
    has seen when given. An empty database gives an empty feed."""
    if window not in WINDOW_DAYS:
        raise InvalidPeriod(f"window must be day, week or month, not {window!r}")
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    end = as_of or today(conn)
    if end is None:
        return Feed(None, [], 0, limit, offset, window)
    start = end - dt.timedelta(days=WINDOW_DAYS[window] - 1)
    period = Period("day" if window == "day" else "week", start, end)
    cond = _in_period(start, end)
    if category:
        cond = and_(cond, _in_category(category))
    if unseen_by is not None:
        cond = and_(cond, _unseen_by(unseen_by))
    scored = TrendingWindow(start, end, today(conn) if as_of else end)
    feed = _trending_page(conn, cond, scored, period, limit, offset)
    feed.window = window
    return feed


def list_recent(
    conn: Connection,
    *,
    category: str | None = None,
    author_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
    unseen_by: int | None = None,
) -> Feed:
    """Visible papers newest first (announcement day, then id), optionally only those in
    an arXiv ``category`` or by the author whose ``authors.name_key`` is ``author_key``,
    and not seen by user ``unseen_by``."""
    from paperfeed.store.schema import authors, paper_authors

    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    cond: ColumnElement[bool] = papers.c.hidden.is_(False)
    if category:
        cond = and_(cond, _in_category(category))
    if unseen_by is not None:
        cond = and_(cond, _unseen_by(unseen_by))
    if author_key:
        cond = and_(cond, papers.c.id.in_(
            select(paper_authors.c.paper_id)
            .join(authors, authors.c.id == paper_authors.c.author_id)
            .where(authors.c.name_key == author_key)
        ))
    total = conn.execute(select(func.count()).select_from(papers).where(cond)).scalar_one()
    ids = list(conn.execute(
        select(papers.c.id).where(cond)
        .order_by(papers.c.announced_on.desc(), papers.c.arxiv_id.desc())
        .limit(limit).offset(offset)
    ).scalars())
    cards = load_cards(conn, ids)
    return Feed(None, [cards[i] for i in ids if i in cards], int(total), limit, offset)


def _trending_page(
    conn: Connection, cond: ColumnElement[bool], window: TrendingWindow, period: Period,
    limit: int, offset: int,
) -> Feed:
    ranked = score_window(conn, cond, window)
    page = ranked[offset : offset + limit]
    cards = load_cards(conn, [s.paper_id for s in page])
    items = [replace(cards[s.paper_id], score=round(s.score, 6))
             for s in page if s.paper_id in cards]
    return Feed(period, items, len(ranked), limit, offset)


__all__ = [
    "MAX_LIMIT",
    "Feed",
    "Sort",
    "adjacent_days",
    "list_period",
    "list_recent",
    "today",
    "trending",
]
