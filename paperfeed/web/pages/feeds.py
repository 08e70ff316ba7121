"""Listing pages: home (day / week / month), trending, about, category and author pages."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection, select

from paperfeed.identifiers import author_key
from paperfeed.ingest.normalize import is_arxiv_category
from paperfeed.rank import listings, periods
from paperfeed.rank import trending as trending_score
from paperfeed.rank.listings import Feed
from paperfeed.rank.periods import InvalidPeriod, Period
from paperfeed.rank.trending import TRENDING_FORMULA, WINDOW_DAYS
from paperfeed.store.schema import authors
from paperfeed.store.seen import new_since, seen_paper_ids
from paperfeed.store.users import User
from paperfeed.store.votes import voted_paper_ids

from .cached import cached_page
from .following import follow_state
from .seen import note_visit, wants_unseen

router = APIRouter(tags=["pages"])
PAGE_SIZE = 50


def page_number(request: Request) -> int:
    raw = request.query_params.get("p", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1


def listing_context(conn: Connection, user: User | None, feed: Feed, page: int) -> dict[str, Any]:
    """What every listing template needs: cards, which ones the user voted or has seen,
    paging."""
    ids = [c.id for c in feed.items]
    voted = voted_paper_ids(conn, user.id, ids) if user else set()
    return {
        "feed": feed,
        "voted": voted,
        "seen": seen_paper_ids(conn, user.id, ids) if user else set(),
        "page": page,
        "rank_offset": feed.offset,
        "has_next": feed.has_next_page,
    }


def _period_nav(conn: Connection, period: Period, today: dt.date) -> dict[str, Any]:
    if period.kind == "day":
        prev_day, next_day = listings.adjacent_days(conn, period.start)
        return {
            "prev_url": f"/?date={prev_day.isoformat()}" if prev_day else None,
            "next_url": f"/?date={next_day.isoformat()}" if next_day else None,
            "prev_label": "Previous day", "next_label": "Next day",
        }
    param = "week" if period.kind == "week" else "month"
    earlier, later = period.shifted(-1), period.shifted(1)
    return {
        "prev_url": f"/?{param}={earlier.key}",
        "next_url": f"/?{param}={later.key}" if later.start <= today else None,
        "prev_label": f"Previous {param}", "next_label": f"Next {param}",
    }


def _home_page(conn: Connection, user: User | None, date: str | None, week: str | None,
               month: str | None, page: int, *, category: str = "", hide_seen: bool = False,
               since: dt.datetime | None = None) -> tuple[str, dict[str, Any], int]:
    if category and (len(category) > 32 or not is_arxiv_category(category)):
        raise ValueError("Categories look like cs.CV or math.AG.")
    period = periods.parse_period(date=date, week=week, month=month)
    today = listings.today(conn)
    if period is None:
        if today is None:
            return "home.html", {"empty_site": True, "tab": "day"}, 200
        period = periods.day_period(today)
    today = today or period.end
    hide_seen = hide_seen and user is not None
    feed = listings.list_period(conn, period, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                category=category or None,
                                unseen_by=user.id if user and hide_seen else None)
    nav = _period_nav(conn, period, today)
    anchor = period.start if period.kind == "day" else min(period.end, today)
    filters = "".join(f"&{k}={v}" for k, v in (("category", category),
                                                 ("hide_seen", "1" if hide_seen else ""))
                      if v)
    context = listing_context(conn, user, feed, page) | nav | {
        "period": period,
        "tab": period.kind,
        "day_url": f"/?date={anchor.isoformat()}",
        "week_url": f"/?week={periods.week_period_of(anchor).key}",
        "month_url": f"/?month={anchor.year}-{anchor.month:02d}",
        "is_today": period.kind == "day" and period.start == today,
        "base_query": f"{period.kind if period.kind != 'day' else 'date'}={period.key}{filters}",
        "period_param": "date" if period.kind == "day" else period.kind,
        "category": category, "hide_seen": hide_seen, "since": since,
        "new_ids": new_since(conn, [c.id for c in feed.items], since) if since else set(),
    }
    return "home.html", context, 200


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """The newest day's papers by trending score; ?date=, ?week=YYYY-Www, ?month=YYYY-MM;
    ?category= keeps one arXiv category; ?hide_seen=1 (signed in) hides seen papers."""
    q = request.query_params
    page = page_number(request)
    since = await note_visit(request)

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        try:
            return _home_page(conn, user, q.get("date"), q.get("week"), q.get("month"), page,
                              category=(q.get("category") or "").strip(),
                              hide_seen=wants_unseen(request), since=since)
        except (InvalidPeriod, OverflowError, ValueError) as exc:
            return "error.html", {"status": 400, "title": "No such day, week or month",
                                  "detail": str(exc)}, 400

    return await cached_page(request, build)


@router.get("/trending", response_class=HTMLResponse)
async def trending_page(request: Request) -> HTMLResponse:
    """Trending papers over a window of day / week / month (formula on /about)."""
    window = request.query_params.get("window", "week")
    page = page_number(request)

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        chosen = next((w for w in WINDOW_DAYS if w == window), None)
        if chosen is None:
            return "error.html", {"status": 400, "title": "Unknown window",
                                  "detail": "The window is day, week or month."}, 400
        hide_seen = bool(user and wants_unseen(request))
        feed = listings.trending(conn, chosen, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                 unseen_by=user.id if user and hide_seen else None)
        context = listing_context(conn, user, feed, page) | {
            "window": window, "formula": TRENDING_FORMULA, "hide_seen": hide_seen,
            "base_query": f"window={window}" + ("&hide_seen=1" if hide_seen else ""),
        }
        return "trending.html", context, 200

    return await cached_page(request, build)


@router.get("/about", response_class=HTMLResponse)
async def about(request: Request) -> HTMLResponse:
    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        return "about.html", {
            "formula": TRENDING_FORMULA, "windows": WINDOW_DAYS,
            "weights": trending_score.WEIGHTS, "star_weight": trending_score.STAR_WEIGHT,
            "prior": trending_score.PRIOR, "late_days": trending_score.LATE_DAYS,
        }, 200

    return await cached_page(request, build)


@router.get("/categories/{category}", response_class=HTMLResponse)
async def category_page(request: Request, category: str) -> HTMLResponse:
    page = page_number(request)

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        if len(category) > 32 or not is_arxiv_category(category):
            return "error.html", {"status": 404, "title": "No such category",
                                  "detail": "Categories look like cs.CV or math.AG."}, 404
        feed = listings.list_recent(conn, category=category, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE,
                                    unseen_by=user.id if user and wants_unseen(request) else None)
        return "listing.html", listing_context(conn, user, feed, page) | {
            "heading": category, "kind": "category",
            "feed_url": f"/feeds/categories/{category}.atom",
            "hide_seen": bool(user and wants_unseen(request)),
            "base_query": "hide_seen=1" if user and wants_unseen(request) else "",
            "following": follow_state(conn, user, "category", category),
        }, 200

    return await cached_page(request, build)


@router.get("/authors/{name:path}", response_class=HTMLResponse)
async def author_page(request: Request, name: str) -> HTMLResponse:
    page = page_number(request)
    name = unquote(name)[:300]

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        key = author_key(name)
        row = conn.execute(select(authors.c.name).where(authors.c.name_key == key)).first()
        if row is None:
            return "error.html", {"status": 404, "title": "No such author",
                                  "detail": "No paper here lists that author."}, 404
        feed = listings.list_recent(conn, author_key=key, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE,
                                    unseen_by=user.id if user and wants_unseen(request) else None)
        return "listing.html", listing_context(conn, user, feed, page) | {
            "heading": row.name, "kind": "author",
            "hide_seen": bool(user and wants_unseen(request)),
            "base_query": "hide_seen=1" if user and wants_unseen(request) else "",
            "following": follow_state(conn, user, "author", row.name),
        }, 200

    return await cached_page(request, build)
