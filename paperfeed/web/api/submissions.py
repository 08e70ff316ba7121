"""Submissions: put a paper on today's feed (``POST /api/submissions``), list them
(``GET /api/submissions?submitter=``), take one back (``DELETE /api/submissions/{id}``).

The rules are the submit page's (store/submissions.py): once per paper, recent papers only,
hidden ones never. Both go through :func:`paperfeed.rank.submissions.submit_paper`: a paper
paperfeed does not know yet is fetched from the arXiv API first; arXiv not answering is a
502.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, Connection, and_, func, select

from paperfeed.rank.cards import load_cards
from paperfeed.rank.submissions import FetchFailed, NotOnArxiv, SubmissionRefused, submit_paper
from paperfeed.store.community_schema import submissions, users
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.submissions import withdraw_submission

from ..arxiv_paths import ArxivIdPath
from ..deps import DbConn, EngineDep, SettingsDep, TokenUser, Views
from .auth import check_rate
from .daily_papers import Limit, PageNo
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import PaperViews, load_submissions, visible_paper_id
from .papers import arxiv_id_or_400
from .responses import cached_json, paging_headers
from .schemas import Submission, SubmissionIn

router = APIRouter(tags=["submissions"], responses=ERROR_RESPONSES)


def submission_objects(
    conn: Connection, views: PaperViews, paper_ids: list[int],
) -> list[Submission]:
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


@router.post("/api/submissions", response_model=Submission, status_code=201,
             summary="Submit a paper to today's feed")
def create_submission(
    request: Request, body: SubmissionIn, user: TokenUser, engine: EngineDep,
    settings: SettingsDep, views: Views,
) -> Submission:
    """Submit by arXiv id or URL. 409 when already submitted or too old."""
    arxiv_id = arxiv_id_or_400(body.id)
    check_rate(request, "submit", user)
    try:
        paper_id = submit_paper(engine, settings, user.id, arxiv_id)
    except NotOnArxiv as exc:
        raise ApiError(404, str(exc)) from exc
    except SubmissionRefused as exc:
        raise ApiError(409, str(exc)) from exc
    except FetchFailed as exc:
        raise ApiError(502, str(exc)) from exc
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


@router.delete("/api/submissions/{arxiv_id:arxiv}", status_code=204,
               summary="Take back your own submission")
def delete_submission(
    request: Request,
    arxiv_id: ArxivIdPath,
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

