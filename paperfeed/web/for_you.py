"""The "For you" page: new papers ranked for the logged-in user by
:func:`paperfeed.rank.profiles.recommend_for_user` (the same ranking as their digest),
each with its one-line reason and a "Not interested" button that teaches the ranking.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from paperfeed.rank.profiles import recommend_for_user
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import mark_not_interested

from .dependencies import CsrfChecked, CurrentUser, EngineDep, SettingsDep
from .rendering import render

router = APIRouter(tags=["for-you"])


@router.get("/for-you", response_class=HTMLResponse)
def for_you(request: Request, user: CurrentUser, settings: SettingsDep, engine: EngineDep,
            days: int = 7) -> Response:
    """Recommendations over the last ``days`` announcement days (1..30)."""
    from paperfeed.index.embedder import load_embedder

    days = max(1, min(days, 30))
    with engine.connect() as conn:
        items = recommend_for_user(conn, user.id, load_embedder(settings), days=days)
    return render(request, "mail/for_you.html", {"items": items, "days": days})


@router.post("/for-you/not-interested", dependencies=[CsrfChecked])
def not_interested(user: CurrentUser, engine: EngineDep,
                   paper: Annotated[str, Form()] = "") -> Response:
    """Record "not interested" for the user and go back to the list."""
    with write_transaction(engine) as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == paper)).scalar()
        if paper_id is not None:
            mark_not_interested(conn, f"user:{user.id}", paper_id)
    return RedirectResponse("/for-you", status_code=303)
