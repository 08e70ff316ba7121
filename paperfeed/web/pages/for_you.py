"""The "For you" page: new papers ranked for the logged-in user by
:func:`paperfeed.rank.profiles.recommend_for_user` (the same ranking as their digest),
each with its one-line reason and a "Not interested" button that teaches the ranking.

Without the embedding model (web/services.py) the page, like the personalised feed,
shows the week's trending papers and says so: :func:`for_you_papers`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, select

from paperfeed.index.embedder import Embedder
from paperfeed.rank import listings
from paperfeed.rank.cards import PaperCard
from paperfeed.rank.profiles import RecommendedPaper, recommend_for_user
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.seen import mark_seen, seen_paper_ids
from paperfeed.store.subscriptions import mark_not_interested

from ..deps import CsrfChecked, CurrentUser, EmbedderDep, EngineDep
from ..rendering import render
from .seen import wants_unseen

router = APIRouter(tags=["for-you"])
TRENDING_REASON = "trending this week"


def for_you_papers(conn: Connection, user_id: int, embedder: Embedder | None, *,
                   days: int = 7, limit: int = 30, hide_seen: bool = False
                   ) -> list[RecommendedPaper]:
    """The user's recommendations (without the papers they have seen, if asked); without a
    model, the week's trending papers."""
    if embedder is not None:
        return recommend_for_user(conn, user_id, embedder, days=days, limit=limit,
                                  hide_seen=hide_seen)
    listing = listings.trending(conn, "week", limit=limit,
                                unseen_by=user_id if hide_seen else None)
    return [RecommendedPaper(card, TRENDING_REASON, card.score, "trending")
            for card in listing.items]


@router.get("/for-you", response_class=HTMLResponse)
def for_you(request: Request, user: CurrentUser, engine: EngineDep, embedder: EmbedderDep,
            days: int = 7) -> Response:
    """Recommendations over the last ``days`` announcement days (1..30); ?hide_seen=1
    leaves out the papers the user opened, voted on or dismissed."""
    days = max(1, min(days, 30))
    model = embedder.get()
    hide_seen = wants_unseen(request)
    with engine.connect() as conn:
        items = for_you_papers(conn, user.id, model, days=days, hide_seen=hide_seen)
        seen = seen_paper_ids(conn, user.id, [i.card.id for i in items
                                              if isinstance(i.card, PaperCard)])
    return render(request, "mail/for_you.html",
                  {"items": items, "days": days, "personal": model is not None,
                   "hide_seen": hide_seen, "seen": seen})


@router.post("/for-you/not-interested", dependencies=[CsrfChecked])
def not_interested(user: CurrentUser, engine: EngineDep,
                   paper: Annotated[str, Form()] = "") -> Response:
    """Record "not interested" for the user and go back to the list."""
    with write_transaction(engine) as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == paper)).scalar()
        if paper_id is not None:
            mark_not_interested(conn, f"user:{user.id}", paper_id)
            mark_seen(conn, user.id, [paper_id])
    return RedirectResponse("/for-you", status_code=303)
