"""``GET /api/daily_papers``: Hugging Face's daily-papers listing, same parameters and shape.

Without ``date`` / ``week`` / ``month`` it lists every paper newest first (page through
with ``p``); with one of them, that period's papers ranked by the trending score of the
period's events, as on the home page (local votes, comments, saves and submissions plus
Hugging Face upvotes and GitHub stars; see the about page). ``sort=publishedAt`` orders any
listing newest first, ``sort=trending`` by that score; ``sort=upvotes`` (local votes only)
is a paperfeed extension.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from paperfeed.rank.listings import Sort, list_period, today
from paperfeed.rank.periods import InvalidPeriod, Period, parse_period

from ..deps import DbConn, SettingsDep, Views
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import PaperViews
from .responses import cached_json, paging_headers
from .schemas import DailyPaper

router = APIRouter(tags=["daily papers"], responses=ERROR_RESPONSES)

MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
FIRST_DAY = dt.date(1986, 1, 1)  # before arXiv: the listing without a period starts here

SortName = Literal["publishedAt", "trending", "upvotes"]
SORTS: dict[str, Sort] = {"publishedAt": "published", "trending": "trending", "upvotes": "votes"}

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Papers per page (1-100).")]
PageNo = Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page number, from 0.")]
Category = Annotated[
    str | None, Query(max_length=32, description="paperfeed extension: only this arXiv category.")
]


@router.get(
    "/api/daily_papers",
    response_model=list[DailyPaper],
    summary="Daily papers of a day, ISO week or month (Hugging Face compatible)",
)
def daily_papers(
    request: Request,
    conn: DbConn,
    settings: SettingsDep,
    views: Views,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(max_length=8, description="YYYY-Www, e.g. 2025-W09")] = None,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
    submitter: Annotated[
        str | None, Query(max_length=40, description="Only papers this username submitted.")
    ] = None,
    sort: Annotated[
        SortName | None,
        Query(description="publishedAt (newest first), trending, or upvotes."),
    ] = None,
    p: PageNo = 0,
    limit: Limit = 50,
    category: Category = None,
) -> Response:
    """Papers of a day / ISO week / month (or all, newest first), one page of them."""
    try:
        items, total = list_daily_papers(
            conn, views, date=date, week=week, month=month, submitter=submitter, sort=sort,
            p=p, limit=limit, category=category,
        )
    except InvalidPeriod as exc:
        raise ApiError(400, str(exc)) from exc
    headers = paging_headers(request, total=total, page=p, limit=limit)
    return cached_json(request, items, list[DailyPaper], settings, headers=headers)


def list_daily_papers(
    conn: Connection,
    views: PaperViews,
    *,
    date: str | None = None,
    week: str | None = None,
    month: str | None = None,
    submitter: str | None = None,
    sort: SortName | None = None,
    p: int = 0,
    limit: int = 50,
    category: str | None = None,
) -> tuple[list[DailyPaper], int]:
    """(one page of items, how many there are in all) for the daily-papers parameters;
    shared by the API and ``paperfeed papers ls``. Raises InvalidPeriod for a bad period."""
    period = parse_period(date=date, week=week, month=month)
    order: Sort = SORTS[sort] if sort is not None else (
        "trending" if period is not None else "published")
    if period is None:
        # Every paper up to "today", so that trending ages are counted from the newest day.
        period = Period("month", FIRST_DAY, max(today(conn) or FIRST_DAY, FIRST_DAY))
    feed = list_period(
        conn,
        period,
        sort=order,
        limit=limit,
        offset=p * limit,
        category=category or None,
        submitter=submitter or None,
    )
    scores = [c.score for c in feed.items] if order == "trending" else None
    return views.daily_items(conn, feed.items, scores=scores), feed.total
