"""``GET /api/papers/{id}/similar``: the papers closest in meaning to one paper.

Backed by rank/similar.py (stored vectors; title keywords for a paper not indexed yet).
Each item is the paper object with the similarity ``score`` and ``reasons``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from paperfeed.rank.cards import load_cards_by_arxiv_id
from paperfeed.rank.similar import MAX_LIMIT, similar_papers

from ..arxiv_paths import ArxivIdPath
from ..deps import DbConn, SettingsDep, Views
from ..request_limits import RateLimited
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import load_submissions, visible_paper_id
from .papers import arxiv_id_or_400
from .responses import cached_json
from .schemas import SimilarPaper

router = APIRouter(tags=["papers"], responses=ERROR_RESPONSES)


@router.get("/api/papers/{arxiv_id:arxiv}/similar", response_model=list[SimilarPaper],
            dependencies=[RateLimited("similar")],
            summary="Papers similar to one paper")
def similar(
    request: Request,
    arxiv_id: ArxivIdPath,
    conn: DbConn,
    settings: SettingsDep,
    views: Views,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> Response:
    """Up to ``limit`` similar papers, most similar first; 404 for an unknown paper."""
    ident = arxiv_id_or_400(arxiv_id)
    if visible_paper_id(conn, ident) is None:
        raise ApiError(404, f"paper {ident} not found")
    hits = similar_papers(conn, ident, limit=limit)
    cards = load_cards_by_arxiv_id(conn, [h.arxiv_id for h in hits])
    subs = load_submissions(conn, [c.id for c in cards.values()])
    items = [
        SimilarPaper(
            paper=views.from_card(cards[h.arxiv_id], subs.get(cards[h.arxiv_id].id)),
            score=h.score,
            reasons=list(h.reasons),
        )
        for h in hits
        if h.arxiv_id in cards
    ]
    return cached_json(request, items, list[SimilarPaper], settings)
