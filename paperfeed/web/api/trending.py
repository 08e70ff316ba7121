"""``GET /api/trending?window=day|week|month``: papers ranked by the trending score.

The score is rank/trending.py's (the window's events, decayed by age, plus a recency prior;
see the about page); each item carries it as ``score``. Items have the daily-papers shape.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from paperfeed.rank.listings import trending

from ..deps import DbConn, SettingsDep, Views
from .daily_papers import Category, Limit, PageNo
from .errors import ERROR_RESPONSES
from .responses import cached_json, paging_headers
from .schemas import DailyPaper

router = APIRouter(tags=["trending"], responses=ERROR_RESPONSES)


@router.get(
    "/api/trending", response_model=list[DailyPaper], summary="Trending papers of a window"
)
def trending_papers(
    request: Request,
    conn: DbConn,
    settings: SettingsDep,
    views: Views,
    window: Annotated[
        Literal["day", "week", "month"],
        Query(description="The last day, 7 days or 30 days up to the newest day."),
    ] = "week",
    p: PageNo = 0,
    limit: Limit = 50,
    category: Category = None,
) -> Response:
    """Trending papers, highest score first, one page of them."""
    feed = trending(conn, window, limit=limit, offset=p * limit, category=category or None)
    items = views.daily_items(conn, feed.items, scores=[c.score for c in feed.items])
    headers = paging_headers(request, total=feed.total, page=p, limit=limit)
    return cached_json(request, items, list[DailyPaper], settings, headers=headers)
