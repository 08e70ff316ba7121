"""The search page over paperfeed.rank.search (hybrid keyword + meaning search).

Filters: mode, category, date range, author; highlighted snippets; pagination; empty and
error states that say what to try next. An arXiv id or URL jumps to the paper.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from paperfeed.ingest.normalize import is_arxiv_category
from paperfeed.rank.cards import load_cards_by_arxiv_id
from paperfeed.rank.search import search_papers
from paperfeed.store.users import User
from paperfeed.store.votes import voted_paper_ids
from paperfeed.web.metrics import SEARCH_SECONDS

from ..deps import EmbedderDep
from ..request_limits import enforce_limit
from .cached import cached_page
from .feeds import page_number
from .following import follow_state

router = APIRouter(tags=["pages"])
log = logging.getLogger("paperfeed.web")
PAGE_SIZE = 20
MODES = ("hybrid", "keyword", "semantic")


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(value)


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, embedder: EmbedderDep) -> Response:
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
        from paperfeed.identifiers import parse_arxiv_id

        parsed = parse_arxiv_id(query)
        if parsed is not None:
            return RedirectResponse(f"/papers/{parsed[0]}", status_code=303)

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        context: dict[str, Any] = {"filters": filters, "problems": problems, "page": page,
                                   "results": None, "cards": [], "voted": set(), "error": None}
        if not query or problems:
            return "search.html", context, 400 if problems else 200
        enforce_limit(request, "search")  # only real searches count, not cached pages
        model = embedder.get() if mode != "keyword" else None
        try:
            with SEARCH_SECONDS.labels("page").time():
                results = search_papers(
                    conn, query, embedder=model, limit=PAGE_SIZE,
                    offset=(page - 1) * PAGE_SIZE, mode=mode, category=category or None,
                    date_from=date_from, date_to=date_to, author=author or None,
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
            following=follow_state(conn, user, "search", query,
                                   {"category": category, "author": author}),
            voted=voted_paper_ids(conn, user.id, [c.id for _, c in rows]) if user else set(),
            total=results.total,
            has_next=page * PAGE_SIZE < results.total,
            rank_offset=(page - 1) * PAGE_SIZE,
        )
        if results.redirect_arxiv_id:
            context["redirect"] = results.redirect_arxiv_id
        return "search.html", context, 200

    return await cached_page(request, build)
