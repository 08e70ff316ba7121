"""Submissions: put a paper on today's feed (``POST /api/submissions``), list them
(``GET /api/submissions?submitter=``), take one back (``DELETE /api/submissions/{id}``).

The rules are the submit page's (store/submissions.py): once per paper, recent papers only,
hidden ones never. A paper paperfeed does not know yet is fetched from the arXiv API first,
as the submit page does; arXiv not answering is a 502.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import ColumnElement, Connection, Engine, and_, func, select

from paperfeed.config import Settings
from paperfeed.rank.cards import load_cards
from paperfeed.rank.listings import today
from paperfeed.store.community_schema import submissions, users
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers
from paperfeed.store.submissions import (
    SubmissionRefused,
    check_age,
    check_submittable,
    record_submission,
    withdraw_submission,
)
from paperfeed.store.users import User

from ..deps import DbConn, EngineDep, SettingsDep, TokenUser, Views
from .auth import check_rate
from .daily_papers import Limit, PageNo
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import PaperViews, load_submissions, visible_paper_id
from .papers import arxiv_id_or_400
from .responses import cached_json, paging_headers
from .schemas import Submission, SubmissionIn

router = APIRouter(tags=["submissions"], responses=ERROR_RESPONSES)


def submission_objects(conn: Connection, views: PaperViews, paper_ids: list[int]) -> list[Submission]:
    """API objects for the submissions of ``paper_ids``, in order."""
    subs = load_submissions(conn, paper_ids)
    cards = load_cards(conn, paper_ids)
    out = []
    for pid in paper_ids:
        sub, card = subs.get(pid), cards.get(pid)
        if sub is None or card is None:
            continue
        out.append(Submission(
            id=card.arxiv_id, submittedBy=sub.user, feedDay=sub.feed_day,
            submittedAt=sub.created_at, paper=views.from_card(card, sub),
        ))
    return out


def submit_paper(engine: Engine, settings: Settings, user: User, arxiv_id: str) -> int:
    """Record the user's submission of ``arxiv_id`` (fetching it from arXiv if unknown);
    returns the paper id. Raises ApiError 404 / 409 / 502."""
    from paperfeed.web.pages.submit import FetchFailed, fetch_from_arxiv

    max_age = settings.submission_max_age_days
    try:
        with engine.connect() as conn:
            day = today(conn) or dt.date.today()
            known = check_submittable(conn, arxiv_id, today=day, max_age_days=max_age)
        fetched = None
        if known is None:
            try:
                fetched = fetch_from_arxiv(settings, arxiv_id)
            except FetchFailed as exc:
                raise ApiError(502, str(exc)) from exc
            if fetched is None:
                raise ApiError(404, f"arXiv has no paper {arxiv_id}")
        with write_transaction(engine) as conn:
            if fetched is not None:
                check_age(fetched.announced_on, fetched.submitted_at, today=day,
                          max_age_days=max_age)
                if check_submittable(conn, arxiv_id, today=day, max_age_days=max_age) is None:
                    upsert_papers(conn, [fetched])
                known = conn.execute(
                    select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)
                ).scalar_one()
            assert known is not None
            record_submission(conn, known, user.id, day)
            return known
    except SubmissionRefused as exc:
        raise ApiError(409, str(exc)) from exc


@router.post("/api/submissions", response_model=Submission, status_code=201,
             summary="Submit a paper to today's feed")
def create_submission(
    request: Request, body: SubmissionIn, user: TokenUser, engine: EngineDep,
    settings: SettingsDep, views: Views,
) -> Submission:
    """Submit by arXiv id or URL. 409 when already submitted or too old."""
    arxiv_id = arxiv_id_or_400(body.id)
    check_rate(request, "submit", user)
    paper_id = submit_paper(engine, settings, user, arxiv_id)
    with engine.connect() as conn:
        return submission_objects(conn, views, [paper_id])[0]


@router.get("/api/submissions", response_model=list[Submission],
            summary="Submissions, newest first")
def list_submissions(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views,
    submitter: Annotated[str | None, Query(max_length=40, description="Username.")] = None,
    p: PageNo = 0,
    limit: Limit = 50,
) -> Response:
    cond: ColumnElement[bool] = papers.c.hidden.is_(False)
    if submitter:
        cond = and_(cond, users.c.username == submitter.strip().lower())
    base = (
        select(submissions.c.paper_id)
        .join(users, users.c.id == submissions.c.user_id)
        .join(papers, papers.c.id == submissions.c.paper_id)
        .where(cond)
    )
    total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    ids = list(conn.execute(
        base.order_by(submissions.c.created_at.desc(), submissions.c.paper_id.desc())
        .limit(limit).offset(p * limit)
    ).scalars())
    items = submission_objects(conn, views, ids)
    headers = paging_headers(request, total=int(total), page=p, limit=limit)
    return cached_json(request, items, list[Submission], settings, headers=headers)


@router.delete("/api/submissions/{arxiv_id:path}", status_code=204,
               summary="Take back your own submission")
def delete_submission(
    request: Request,
    arxiv_id: Annotated[str, Path(max_length=300)],
    user: TokenUser,
    engine: EngineDep,
) -> Response:
    """204 when withdrawn; 404 when the caller has no submission of that paper."""
    ident = arxiv_id_or_400(arxiv_id)
    check_rate(request, "submit", user)
    with write_transaction(engine) as conn:
        paper_id = visible_paper_id(conn, ident)
        if paper_id is None or not withdraw_submission(conn, paper_id, user.id):
            raise ApiError(404, f"you have no submission of {ident}")
    return Response(status_code=204)

