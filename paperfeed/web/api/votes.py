"""``POST`` / ``DELETE /api/papers/{id}/vote``: upvote a paper or take the vote back.

Both are idempotent (voting twice counts once) and answer the caller's vote and the
paper's count. They need a personal API token and are rate limited per user.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import Engine

from paperfeed.store.database import write_transaction
from paperfeed.store.votes import set_vote

from ..arxiv_paths import ArxivIdPath
from ..deps import EngineDep, TokenUser
from .auth import check_rate
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import visible_paper_id
from .papers import arxiv_id_or_400
from .schemas import VoteState

router = APIRouter(tags=["votes"], responses=ERROR_RESPONSES)

def vote(engine: Engine, user_id: int, raw_id: str, on: bool) -> VoteState:
    """Set the user's vote on a visible paper; 400 / 404 for a bad or unknown id."""
    arxiv_id = arxiv_id_or_400(raw_id)
    with write_transaction(engine) as conn:
        paper_id = visible_paper_id(conn, arxiv_id)
        if paper_id is None:
            raise ApiError(404, f"paper {arxiv_id} not found")
        result = set_vote(conn, user_id, paper_id, on)
    return VoteState(id=arxiv_id, upvoted=result.voted, upvotes=result.upvotes)


@router.post("/api/papers/{arxiv_id:arxiv}/vote", response_model=VoteState,
             summary="Upvote a paper (idempotent)")
def upvote(request: Request, arxiv_id: ArxivIdPath, user: TokenUser,
           engine: EngineDep) -> VoteState:
    check_rate(request, "vote", user)
    return vote(engine, user.id, arxiv_id, True)


@router.delete("/api/papers/{arxiv_id:arxiv}/vote", response_model=VoteState,
               summary="Take back an upvote (idempotent)")
def unvote(request: Request, arxiv_id: ArxivIdPath, user: TokenUser,
           engine: EngineDep) -> VoteState:
    check_rate(request, "vote", user)
    return vote(engine, user.id, arxiv_id, False)
