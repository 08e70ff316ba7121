"""Feeds: the papers of a day, an ISO week or a month ranked by votes, and trending papers.

The read API that the HTML pages, the JSON API, the Atom feeds and the email digest share.
Every function takes a connection, never writes, and leaves hidden papers out.

"Today" is the newest announcement day in the database (:func:`today`), not the calendar:
a site fed by a nightly import shows that import's day as its front page.

A paper belongs to a period when it was announced in it, or when a user submitted it on a
day in it (``submissions.feed_day``): a known paper submitted today joins today's feed.

Trending (documented on the about page, :data:`TRENDING_FORMULA`): for the papers of the
window ending on "today" (1, 7 or 30 announcement-calendar days),

    score = (upvotes + 0.5 * comments + 1) / (age_days + 2) ** 1.5

where ``age_days`` is the number of days between the paper's feed day and "today". The
``+ 1`` lets fresh papers without votes outrank equally quiet old ones; the gravity exponent
1.5 makes a vote today worth about 2.8 votes from four days ago. Ties go to the newer paper.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from paperfeed.store.community_schema import submissions, users
from paperfeed.store.schema import paper_categories, paper_links, paper_signals, papers

PeriodKind = Literal["day", "week", "month"]
Window = Literal["day", "week", "month"]
Sort = Literal["votes", "published", "trending"]

WINDOW_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 30}
TRENDING_FORMULA = "score = (upvotes + 0.5 × comments + 1) / (age_days + 2)^1.5"
GRAVITY = 1.5
MAX_LIMIT = 500

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidPeriod(ValueError):
    """A ``date`` / ``week`` / ``month`` value that names no real period."""


@dataclass(frozen=True, slots=True)
class Period:
    """A span of days, both ends included, named by ``key`` (2025-03-04, 2025-W10, 2025-03)."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            return f"Week {self.key[-2:]} of {self.start.isocalendar()[0]} " \
                f"({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%B %Y")

    def shifted(self, steps: int) -> Period:
        """The period ``steps`` periods later (negative: earlier), same kind."""
        if self.kind == "day":
            return day_period(self.start + dt.timedelta(days=steps))
        if self.kind == "week":
            return week_period_of(self.start + dt.timedelta(weeks=steps))
        month0 = self.start.year * 12 + self.start.month - 1 + steps
        return month_period(f"{month0 // 12:04d}-{month0 % 12 + 1:02d}")


@dataclass(frozen=True, slots=True)
class PaperCard:
    """What a listing shows of one paper (no full author records, no versions)."""

    id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    primary_category: str | None
    categories: tuple[str, ...]
    announced_on: dt.date | None
    submitted_at: dt.datetime | None
    upvotes: int
    num_comments: int
    code_url: str | None = None
    project_url: str | None = None
    submitted_by: str | None = None  # username of the submitter, if a user submitted it
    feed_day: dt.date | None = None  # the day it joined the feed (submission or announcement)
    score: float = 0.0  # trending score; 0 for vote-ranked listings


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


def day_period(day: dt.date) -> Period:
    return Period("day", day, day)


def week_period_of(day: dt.date) -> Period:
    monday = day - dt.timedelta(days=day.weekday())
    return Period("week", monday, monday + dt.timedelta(days=6))


def week_period(key: str) -> Period:
    """'2025-W10' -> Monday..Sunday of that ISO week. Raises InvalidPeriod."""
    m = _WEEK.match(key.strip())
    if not m or not 1 <= int(m.group(1)) <= 9998:
        raise InvalidPeriod(f"week must look like 2025-W10, not {key!r}")
    try:
        monday = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise InvalidPeriod(f"no such ISO week: {key!r}") from exc
    return week_period_of(monday)


def month_period(key: str) -> Period:
    """'2025-03' -> the first..last day of March 2025. Raises InvalidPeriod."""
    m = _MONTH.match(key.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1 <= int(m.group(1)) <= 9998:
        raise InvalidPeriod(f"month must look like 2025-03, not {key!r}")
    year, month = int(m.group(1)), int(m.group(2))
    first = dt.date(year, month, 1)
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return Period("month", first, last)


def parse_day(value: str) -> dt.date:
    """'2025-03-04' -> date. Raises InvalidPeriod."""
    if not _DAY.match(value.strip()):
        raise InvalidPeriod(f"date must look like 2025-03-04, not {value!r}")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidPeriod(f"no such day: {value!r}") from exc
    if not 1 <= day.year <= 9998:
        raise InvalidPeriod(f"no papers in the year {day.year}")
    return day


def parse_period(
    *, date: str | None = None, week: str | None = None, month: str | None = None
) -> Period | None:
    """The period named by exactly one of date / week / month; None when none is given.

    Raises InvalidPeriod for malformed or impossible values or when more than one is given.
    """
    given = [v for v in (date, week, month) if v]
    if len(given) > 1:
        raise InvalidPeriod("give only one of date, week or month")
    if date:
        return day_period(parse_day(date))
    if week:
        return week_period(week)
    if month:
        return month_period(month)
    return None


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


def _in_period(start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
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
    sort: Sort = "votes",
    limit: int = 50,
    offset: int = 0,
    category: str | None = None,
    submitter: str | None = None,
) -> Feed:
    """The visible papers of ``period``, ranked by votes (then comments, then newest id),
    by publication (newest first), or by the trending score as of the period's last day.

    ``category`` keeps papers listed in that arXiv category; ``submitter`` keeps papers a
    user (by username) submitted. ``limit`` is clamped to 1..500, ``offset`` to >= 0.
    """
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    cond = _in_period(period.start, period.end)
    if category:
        cond = and_(cond, papers.c.id.in_(
            select(paper_categories.c.paper_id).where(paper_categories.c.category == category)
        ))
    if submitter:
        cond = and_(cond, papers.c.id.in_(
            select(submissions.c.paper_id)
            .join(users, users.c.id == submissions.c.user_id)
            .where(users.c.username == submitter.lower())
        ))
    if sort == "trending":
        ranked = _trending_ids(conn, cond, period.end)
        page = ranked[offset : offset + limit]
        cards = load_cards(conn, [pid for pid, _ in page])
        items = [_with_score(cards[pid], score) for pid, score in page if pid in cards]
        return Feed(period, items, len(ranked), limit, offset)
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
) -> Feed:
    """Papers of the ``window`` (day / week / month) ending on ``as_of`` (default: today),
    ranked by :data:`TRENDING_FORMULA`. An empty database gives an empty feed."""
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
        cond = and_(cond, papers.c.id.in_(
            select(paper_categories.c.paper_id).where(paper_categories.c.category == category)
        ))
    ranked = _trending_ids(conn, cond, end)
    page = ranked[offset : offset + limit]
    cards = load_cards(conn, [pid for pid, _ in page])
    items = [_with_score(cards[pid], score) for pid, score in page if pid in cards]
    return Feed(period, items, len(ranked), limit, offset, window)


def list_recent(
    conn: Connection,
    *,
    category: str | None = None,
    author_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Feed:
    """Visible papers newest first (announcement day, then id), optionally only those in
    an arXiv ``category`` or by the author whose ``authors.name_key`` is ``author_key``."""
    from paperfeed.store.schema import authors, paper_authors

    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    cond: ColumnElement[bool] = papers.c.hidden.is_(False)
    if category:
        cond = and_(cond, papers.c.id.in_(
            select(paper_categories.c.paper_id).where(paper_categories.c.category == category)
        ))
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


def trending_score(upvotes: int, num_comments: int, age_days: int) -> float:
    """The trending formula itself (see the module docstring)."""
    return (upvotes + 0.5 * num_comments + 1) / (max(age_days, 0) + 2) ** GRAVITY


def _trending_ids(conn: Connection, cond, as_of: dt.date) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    feed_day = (
        select(func.max(submissions.c.feed_day))
        .where(submissions.c.paper_id == papers.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            papers.c.id, papers.c.arxiv_id, papers.c.upvotes, papers.c.num_comments,
            papers.c.announced_on, feed_day.label("feed_day"),
        ).where(cond)
    ).all()
    scored = []
    for r in rows:
        day = max(d for d in (r.announced_on, r.feed_day, dt.date.min) if d is not None)
        age = (as_of - day).days if day != dt.date.min else 365
        scored.append((trending_score(r.upvotes, r.num_comments, age), day, r.arxiv_id, r.id))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    return [(pid, score) for score, _, _, pid in scored]


def _with_score(card: PaperCard, score: float) -> PaperCard:
    from dataclasses import replace

    return replace(card, score=round(score, 6))


def load_cards(conn: Connection, paper_ids: Sequence[int]) -> dict[int, PaperCard]:
    """Cards by paper id (hidden papers included: callers choose what to list).

    Three queries whatever the number of ids: papers, their categories, their links and
    the HF-signal links, plus the submitter of each.
    """
    ids = list(dict.fromkeys(paper_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(
            papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract,
            papers.c.authors_text, papers.c.primary_category, papers.c.announced_on,
            papers.c.submitted_at, papers.c.upvotes, papers.c.num_comments,
            users.c.username, submissions.c.feed_day,
        )
        .select_from(
            papers.outerjoin(submissions, submissions.c.paper_id == papers.c.id)
            .outerjoin(users, users.c.id == submissions.c.user_id)
        )
        .where(papers.c.id.in_(ids))
    ).all()
    cats: dict[int, list[tuple[bool, str]]] = {}
    for r in conn.execute(
        select(paper_categories).where(paper_categories.c.paper_id.in_(ids))
    ):
        cats.setdefault(r.paper_id, []).append((not r.is_primary, r.category))
    links: dict[int, dict[str, str]] = {}
    for r in conn.execute(
        select(paper_links.c.paper_id, paper_links.c.url, paper_links.c.kind)
        .where(paper_links.c.paper_id.in_(ids), paper_links.c.kind.in_(["code", "project"]))
        .order_by(paper_links.c.paper_id, paper_links.c.url)
    ):
        links.setdefault(r.paper_id, {}).setdefault(r.kind, r.url)
    for r in conn.execute(
        select(paper_signals.c.paper_id, paper_signals.c.kind, paper_signals.c.value).where(
            paper_signals.c.paper_id.in_(ids),
            paper_signals.c.kind.in_(["github_repo", "project_page"]),
        )
    ):
        kind = "code" if r.kind == "github_repo" else "project"
        links.setdefault(r.paper_id, {})[kind] = r.value
    out: dict[int, PaperCard] = {}
    for r in rows:
        found = links.get(r.id, {})
        out[r.id] = PaperCard(
            id=r.id,
            arxiv_id=r.arxiv_id,
            title=r.title,
            abstract=r.abstract,
            authors=tuple(a for a in r.authors_text.split(", ") if a),
            primary_category=r.primary_category,
            categories=tuple(c for _, c in sorted(cats.get(r.id, []))),
            announced_on=r.announced_on,
            submitted_at=r.submitted_at,
            upvotes=r.upvotes,
            num_comments=r.num_comments,
            code_url=found.get("code"),
            project_url=found.get("project"),
            submitted_by=r.username,
            feed_day=r.feed_day or r.announced_on,
        )
    return out


def load_cards_by_arxiv_id(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, PaperCard]:
    """Cards keyed by arXiv id (e.g. for search hits or similar papers); hidden left out."""
    ids = list(
        conn.execute(
            select(papers.c.id).where(
                papers.c.arxiv_id.in_(list(arxiv_ids)), papers.c.hidden.is_(False)
            )
        ).scalars()
    )
    return {card.arxiv_id: card for card in load_cards(conn, ids).values()}


__all__ = [
    "TRENDING_FORMULA",
    "Feed",
    "InvalidPeriod",
    "PaperCard",
    "Period",
    "adjacent_days",
    "day_period",
    "list_period",
    "list_recent",
    "load_cards",
    "load_cards_by_arxiv_id",
    "month_period",
    "parse_day",
    "parse_period",
    "today",
    "trending",
    "trending_score",
    "week_period",
]
