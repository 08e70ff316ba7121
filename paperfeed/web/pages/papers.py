"""The paper page (/papers/{arxiv_id}, as on huggingface.co) with its discussion, and votes.

(The comment forms post to web/pages/comments.py.)"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from paperfeed.citations import to_bibtex
from paperfeed.identifiers import parse_arxiv_id
from paperfeed.index.summaries import get_summaries
from paperfeed.rank.cards import load_cards, load_cards_by_arxiv_id
from paperfeed.rank.similar import similar_papers
from paperfeed.store.collections import collections_with_paper, user_collections
from paperfeed.store.comments import list_threads
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import get_paper
from paperfeed.store.schema import papers
from paperfeed.store.seen import mark_seen
from paperfeed.store.submissions import get_submission
from paperfeed.store.users import User
from paperfeed.store.votes import toggle_vote, voted_paper_ids

from ..arxiv_paths import ArxivIdPath
from ..deps import (
    CsrfChecked,
    CurrentUser,
    EngineDep,
    Limiter,
    get_engine,
    get_similar_cache,
    load_user,
)
from ..ratelimit import user_key
from ..rendering import comment_html
from ..request_limits import enforce_limit
from .cached import cached_page
from .forms import json_or_back, paper_id_or_404, too_many
from .seen import note_opened

router = APIRouter(tags=["pages"])
COMMENTS_PER_PAGE = 100  # threads; one more is read to know whether a next page exists
log = logging.getLogger("paperfeed.web")


def paper_row(conn: Connection, arxiv_id: str, *, include_hidden: bool = False) -> Any:
    row = conn.execute(
        select(papers.c.id, papers.c.arxiv_id, papers.c.upvotes, papers.c.num_comments,
               papers.c.hidden).where(papers.c.arxiv_id == arxiv_id)
    ).first()
    if row is None or (row.hidden and not include_hidden):
        return None
    return row


def similar_cards(conn: Connection, arxiv_id: str, cache: Any = None,
                  request: Request | None = None) -> tuple[list[Any], bool]:
    """Cards of similar papers, and whether similarity is available at all.

    The neighbour ids are cached per paper (they do not change with votes or comments, and
    a keyword fallback can take 100+ ms); the cards are loaded fresh. Computing them counts
    against ``request``'s client's "similar" budget (429 when used up)."""
    ids = cache.get(arxiv_id, 0) if cache is not None else None
    if ids is None:
        if request is not None:
            enforce_limit(request, "similar")
        try:
            ids = [h.arxiv_id for h in similar_papers(conn, arxiv_id, limit=10)]
        except Exception:  # a missing index must not take the paper page down
            log.exception("similar papers failed for %s", arxiv_id)
            return [], False
        if cache is not None:
            cache.put(arxiv_id, 0, ids)
    cards = load_cards_by_arxiv_id(conn, ids)
    return [cards[i] for i in ids if i in cards and i != arxiv_id], True


@router.get("/papers/{arxiv_id:arxiv}", response_class=HTMLResponse)
async def paper_page(request: Request, arxiv_id: ArxivIdPath) -> Response:
    parsed = parse_arxiv_id(arxiv_id)  # the route matched an id: this is its versionless form
    if parsed is not None and parsed[0] != arxiv_id:
        return RedirectResponse(f"/papers/{parsed[0]}", status_code=301)
    from .citations import citation_format, paper_citation

    fmt = citation_format(request)  # Accept: application/x-bibtex etc. (as doi.org)
    if fmt is not None:  # database work: in the threadpool, never on the event loop
        return await run_in_threadpool(lambda: paper_citation(
            arxiv_id, fmt=fmt, engine=get_engine(request), user=load_user(request)))

    raw_page = request.query_params.get("cp", "1")
    comments_page = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10_000 else 1

    def build(conn: Connection, user: User | None) -> tuple[str, dict[str, Any], int]:
        admin = bool(user and user.is_admin)
        row = paper_row(conn, arxiv_id, include_hidden=admin)
        paper = get_paper(conn, arxiv_id) if row else None
        if row is None or paper is None:
            return "error.html", {
                "status": 404, "title": "Paper not found",
                "detail": f"paperfeed has no paper {arxiv_id}. You can submit it.",
                "submit_id": arxiv_id,
            }, 404
        similar, similar_available = similar_cards(conn, arxiv_id,
                                                   get_similar_cache(request), request)
        threads = list_threads(conn, row.id, include_hidden=admin, limit=COMMENTS_PER_PAGE + 1,
                               offset=(comments_page - 1) * COMMENTS_PER_PAGE)
        shown = [c for top, replies in threads for c in (top, *replies)]
        context: dict[str, Any] = {
            "paper": paper,
            "row": row,
            "card": load_cards(conn, [row.id]).get(row.id),
            "threads": threads,
            "comment_html": comment_html(conn, shown),
            "comment_authors": {c.id: c.username for c in shown},
            "comments_page": comments_page, "comments_per_page": COMMENTS_PER_PAGE,
            "similar": similar,
            "similar_available": similar_available,
            "summary": get_summaries(conn, [row.id]).get(row.id),
            "submission": get_submission(conn, row.id),
            "voted": bool(user and voted_paper_ids(conn, user.id, [row.id])),
            "collections": user_collections(conn, user.id, viewer_id=user.id) if user else [],
            "in_collections": collections_with_paper(conn, user.id, row.id) if user else set(),
            "code_links": [link for link in paper.links if link.kind == "code"],
            "project_links": [link for link in paper.links if link.kind in ("project", "data")],
            "editing": request.query_params.get("edit", ""),
            "bibtex": to_bibtex(paper),
        }
        return "paper.html", context, 200

    await note_opened(request, arxiv_id)  # read state (signed-in users only)
    return await cached_page(request, build)


@router.post("/papers/{arxiv_id:arxiv}/vote", dependencies=[CsrfChecked])
def vote(
    request: Request, arxiv_id: ArxivIdPath, user: CurrentUser, engine: EngineDep,
    limiter: Limiter, next: Annotated[str | None, Form()] = None,
) -> Response:
    """Toggle the user's upvote; JSON for the progressive script, else back to the page."""
    if not limiter.allow("vote", user_key(user.id)):
        raise too_many("votes")
    with engine.connect() as conn:
        paper_id = paper_id_or_404(conn, arxiv_id)
    with write_transaction(engine) as conn:
        result = toggle_vote(conn, user.id, paper_id)
        mark_seen(conn, user.id, [paper_id])
    return json_or_back(request, {"voted": result.voted, "upvotes": result.upvotes},
                        next or f"/papers/{arxiv_id}")
