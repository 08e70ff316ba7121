"""``GET /api/papers/search?q=&limit=``: hybrid search (Hugging Face's ``list_papers``).

Items have the daily-papers shape plus ``score``, a plain-text ``snippet`` around the
matching words and ``reasons``. paperfeed extensions: ``p`` (page), ``mode`` (hybrid,
keyword, semantic), ``category``, ``date_from`` / ``date_to``, ``author``. The query uses
the search box's language (quoted phrases, -excluded words, cat:, author:, arXiv ids).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from paperfeed.rank.cards import load_cards
from paperfeed.rank.search import MAX_LIMIT, MAX_OFFSET, SearchResults, search_papers
from paperfeed.web.metrics import SEARCH_SECONDS

from ..deps import DbConn, EmbedderDep, SettingsDep, Views
from ..request_limits import RateLimited
from ..services import SiteEmbedder
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import PaperViews
from .responses import cached_json, paging_headers
from .schemas import DailyPaper

router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)

_MARK = re.compile(r"</?mark>")
MAX_PAGE = 1000


def plain_snippet(snippet_html: str) -> str:
    """The search snippet (escaped HTML with <mark>) as plain text."""
    return html.unescape(_MARK.sub("", snippet_html))


def run_search(
    conn: Connection,
    embedder: SiteEmbedder,
    query: str,
    *,
    limit: int,
    offset: int,
    mode: str = "hybrid",
    category: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    author: str | None = None,
) -> SearchResults:
    """search_papers with the app's embedder (keyword search only without the model); a
    400 for dates at the ends of the calendar."""
    model = embedder.get() if mode != "keyword" else None
    try:
        with SEARCH_SECONDS.labels("api").time():
            return search_papers(
                conn, query, embedder=model, limit=limit, offset=offset, mode=mode,
                category=category or None, date_from=date_from, date_to=date_to,
                author=author or None,
            )
    except OverflowError as exc:  # e.g. after:9999-12-31: a day past the calendar's end
        raise ApiError(400, "a date in the search is out of range") from exc


def search_items(conn: Connection, views: PaperViews, results: SearchResults) -> list[DailyPaper]:
    """Daily-papers items for the hits, in rank order, with score, snippet and reasons."""
    cards = load_cards(conn, results.paper_ids)
    pairs = [(cards[pid], hit) for pid, hit in zip(results.paper_ids, results.hits, strict=False)
             if pid in cards]
    items = views.daily_items(
        conn, [card for card, _ in pairs],
        scores=[hit.score for _, hit in pairs],
        snippets=[plain_snippet(hit.snippet) for _, hit in pairs],
    )
    for item, (_, hit) in zip(items, pairs, strict=True):
        item.reasons = list(hit.reasons)
    return items


@router.get("/api/papers/search", response_model=list[DailyPaper],
            summary="Search papers (Hugging Face compatible `list_papers`)",
            dependencies=[RateLimited("search")])
def search(
    request: Request,
    conn: DbConn,
    settings: SettingsDep,
    views: Views,
    embedder: EmbedderDep,
    q: Annotated[str, Query(max_length=500, description="Words, \"phrases\", -excluded.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page number, from 0.")] = 0,
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid",
    category: Annotated[str | None, Query(max_length=32)] = None,
    date_from: Annotated[dt.date | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    date_to: Annotated[dt.date | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    author: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Papers matching ``q`` by keywords and meaning, best first."""
    offset = p * limit
    if offset > MAX_OFFSET:
        raise ApiError(
            400, f"search results go {MAX_OFFSET} deep: p * limit must be <= {MAX_OFFSET}"
        )
    results = run_search(conn, embedder, q, limit=limit, offset=offset, mode=mode,
                         category=category, date_from=date_from, date_to=date_to, author=author)
    items = search_items(conn, views, results)
    headers = paging_headers(request, total=results.total, page=p, limit=limit)
    if results.message:
        headers["X-Search-Message"] = results.message.encode("ascii", "replace").decode()[:500]
    return cached_json(request, items, list[DailyPaper], settings, headers=headers)
