"""The search page over paperfeed.rank.search (hybrid keyword + meaning search).

Filters: mode, category, date range, author; highlighted snippets; pagination; empty and
error states that say what to try next. An arXiv id or URL jumps to the paper.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from paperfeed.ingest.normalize import is_arxiv_category
from paperfeed.rank.cards import load_cards_by_arxiv_id
from paperfeed.store.users import User
from paperfeed.store.votes import voted_paper_ids

from ..request_limits import enforce_limit
from .cached import cached_page
from .feeds import page_number

router = APIRouter(tags=["pages"])
log = logging.getLogger("paperfeed.web")
PAGE_SIZE = 20
MODES = ("hybrid", "keyword", "semantic")
_embedder_lock = threading.Lock()


def app_embedder(request: Request) -> Any:
    """The app's embedder, loaded once on first use; None when it cannot load (the
    search then runs on keywords only)."""
    state = request.app.state
    if getattr(state, "embedder_loaded", False):
        return state.embedder
    with _embedder_lock:
        if not getattr(state, "embedder_loaded", False):
            try:
                from paperfeed.index.embedder import load_embedder

                state.embedder = load_embedder(state.settings)
            except Exception:
                log.exception("could not load the embedder; search runs on keywords")
                state.embedder = None
            state.embedder_loaded = True
    return state.embedder


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(value)


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request) -> Response:
    q = request.query_params
    query = (q.get("q") or "").strip()[:500]
    mode = q.get("mode") or "hybrid"
    category = (q.get("category") or "").strip()
    author = (q.get("author") or "").strip()[:200]
    page = page_number(request)
    filters = {"q": query, "mode": mode, "category": category, "author": author,
               "from": q.get("from") or "", "to": q.get("to") or ""}
    problems: list[str] = []
    if mode not in MODES:
        problems.append("Mode is hybrid, keyword or semantic.")
        mode = filters["mode"] = "hybrid"
    if category and not is_arxiv_category(category):
        problems.append("Categories look like cs.CV or cs.CL.")
    try:
        date_from, date_to = _date(filters["from"]), _date(filters["to"])
    except ValueError:
        problems.append("Dates look like 2025-03-04.")
        date_from = date_to = None
    if query and not problems:
        from paperfeed.ingest.normalize import parse_arxiv_id

        parsed = parse_arxiv_id(query)
        if parsed is not None:
            return RedirectResponse(f"/papers/{parsed[0]}", status_code=303)

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        context: dict[str, Any] = {"filters": filters, "problems": problems, "page": page,
                                   "results": None, "cards": [], "voted": set(), "error": None}
        if not query or problems:
            return "search.html", context, 400 if problems else 200
        enforce_limit(request, "search")  # only real searches count, not cached pages
        try:
            from paperfeed.rank.search import search_papers
        except ImportError:
            context["error"] = "Search is not installed on this site yet."
            return "search.html", context, 503
        embedder = app_embedder(request) if mode != "keyword" else None
        try:
            results = search_papers(
                conn, query, embedder=embedder, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                mode=mode, category=category or None, date_from=date_from, date_to=date_to,
                author=author or None,
            )
        except ValueError as exc:
            problems.append(str(exc))
            return "search.html", context, 400
        except Exception:
            log.exception("search failed for %r", query)
            context["error"] = "Search failed on our side. Try again, or try keyword mode."
            return "search.html", context, 503
        hits = list(results.hits)
        cards = load_cards_by_arxiv_id(conn, [h.arxiv_id for h in hits])
        rows = [(h, cards[h.arxiv_id]) for h in hits if h.arxiv_id in cards]
        context.update(
            results=results, rows=rows,
            voted=voted_paper_ids(conn, user.id, [c.id for _, c in rows]) if user else set(),
            total=int(getattr(results, "total", len(rows)) or 0),
            has_next=page * PAGE_SIZE < int(getattr(results, "total", 0) or 0),
            rank_offset=(page - 1) * PAGE_SIZE,
        )
        redirect = getattr(results, "redirect_arxiv_id", None)
        if redirect:
            context["redirect"] = redirect
        return "search.html", context, 200

    return await cached_page(request, build)
