"""``GET /api/papers/{id}`` (flat paper, Hugging Face's ``paper_info``) and
``GET /papers/{id}.md`` (the page as Markdown, Hugging Face's ``read_paper``).

Ids are versionless arXiv ids; a versioned id (``2503.11731v2``) or an old-style id with a
subject class (``math.GT/0309136``) names the same paper. A path whose id is no arXiv id
matches no route (web/arxiv_paths.py): a 404; an id paperfeed does not have (or has hidden)
is a 404 too. Ids in request bodies may also be arXiv / Hugging Face URLs (a 400 when they
name no arXiv id).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from paperfeed.identifiers import parse_arxiv_id
from paperfeed.models import Paper
from paperfeed.rank.cards import load_cards_by_arxiv_id
from paperfeed.store.papers import get_paper

from ..arxiv_paths import ArxivIdPath
from ..deps import DbConn, SettingsDep, Views
from .caching import conditional_response
from .errors import ERROR_RESPONSES, ApiError
from .markdown import paper_markdown
from .paper_views import PaperViews
from .responses import cached_json
from .schemas import PaperDetail

router = APIRouter(tags=["papers"], responses=ERROR_RESPONSES)


def arxiv_id_or_400(raw: str) -> str:
    """The versionless arXiv id named by ``raw``, or a 400 error."""
    parsed = parse_arxiv_id(raw)
    if parsed is None:
        raise ApiError(400, f"not an arXiv id: {raw[:100]!r}")
    return parsed[0]


def load_detail(conn: Connection, views: PaperViews, raw_id: str) -> tuple[Paper, PaperDetail]:
    """The full record and the API object of a visible paper, or a 400 / 404 error."""
    arxiv_id = arxiv_id_or_400(raw_id)
    card = load_cards_by_arxiv_id(conn, [arxiv_id]).get(arxiv_id)
    paper = get_paper(conn, arxiv_id) if card else None
    if card is None or paper is None:
        raise ApiError(404, f"paper {arxiv_id} not found")
    return paper, views.detail(conn, paper, card)


@router.get(
    "/api/papers/{arxiv_id:arxiv}",
    response_model=PaperDetail,
    summary="One paper (Hugging Face compatible `paper_info`)",
)
def paper_info(
    request: Request, arxiv_id: ArxivIdPath, conn: DbConn, settings: SettingsDep, views: Views
) -> Response:
    """The flat paper object: authors, dates, abstract, votes, links, categories."""
    _, detail = load_detail(conn, views, arxiv_id)
    return cached_json(request, detail, PaperDetail, settings)


@router.get(
    "/papers/{arxiv_id:arxiv}.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}, "description": "Markdown"}},
    summary="One paper as Markdown (Hugging Face compatible `read_paper`)",
)
def paper_md(
    request: Request, arxiv_id: ArxivIdPath, conn: DbConn, settings: SettingsDep, views: Views
) -> Response:
    """The paper page as a Markdown document."""
    paper, detail = load_detail(conn, views, arxiv_id)
    body = paper_markdown(paper, detail).encode()
    return conditional_response(
        request, body, media_type="text/markdown; charset=utf-8",
        max_age=settings.cache_seconds,
    )
