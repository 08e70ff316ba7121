"""Submitting a paper: an arXiv id or URL puts the paper on today's feed.

Known papers join at once; unknown ones are fetched from the arXiv API (through
paperfeed.ingest.arxiv_api) and stored first. The rules are stated on the page.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.config import Settings
from paperfeed.ingest.normalize import parse_arxiv_id
from paperfeed.models import Paper
from paperfeed.rank.listings import today
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers
from paperfeed.store.submissions import (
    SubmissionRefused,
    check_age,
    check_submittable,
    record_submission,
)

from ..deps import CsrfChecked, CurrentUser, EngineDep, Limiter, SettingsDep
from ..rendering import render

router = APIRouter(tags=["pages"])
log = logging.getLogger("paperfeed.web")


class FetchFailed(Exception):
    """arXiv could not be asked, or did not answer in time."""


def fetch_from_arxiv(settings: Settings, arxiv_id: str) -> Paper | None:
    """The paper as the arXiv API (settings.arxiv_api_url) describes it; None when arXiv
    does not know it. Raises FetchFailed when arXiv cannot be reached."""
    try:
        from paperfeed.ingest.arxiv_api import fetch_details
        from paperfeed.ingest.upstream import Upstream
    except ImportError as exc:
        raise FetchFailed("this site cannot fetch papers from arXiv") from exc
    # One quick retry: a person is waiting for this page.
    client = Upstream(user_agent=settings.user_agent, delay_seconds=0.0,
                      timeout_seconds=min(settings.http_timeout_seconds, 15.0), retries=1,
                      backoff_seconds=1.0)
    try:
        with client:
            for _, page in fetch_details(client, settings.arxiv_api_url, [arxiv_id]):
                for item in page.items:
                    if isinstance(item, Paper) and item.arxiv_id == arxiv_id:
                        return item
    except Exception as exc:
        log.warning("arXiv fetch of %s failed: %s", arxiv_id, exc)
        raise FetchFailed("arXiv did not answer; try again in a few minutes") from exc
    return None


def _form(request: Request, settings: Settings, engine: Any, *, error: str | None = None,
          value: str = "", status: int = 200, existing: str | None = None) -> Response:
    with engine.connect() as conn:
        day = today(conn) or dt.date.today()
    return render(request, "submit.html", {
        "error": error, "value": value, "today": day, "existing": existing,
        "max_age": settings.submission_max_age_days,
    }, status_code=status)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, user: CurrentUser, settings: SettingsDep,
                engine: EngineDep) -> Response:
    return _form(request, settings, engine, value=request.query_params.get("id", "")[:300])


@router.post("/submit", dependencies=[CsrfChecked])
def submit(
    request: Request, user: CurrentUser, settings: SettingsDep, engine: EngineDep,
    limiter: Limiter, paper: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    parsed = parse_arxiv_id(paper)
    if parsed is None:
        return _form(request, settings, engine, value=paper, status=400,
                     error="That is not an arXiv id or URL. Try 2503.11731 or "
                     "https://arxiv.org/abs/2503.11731.")
    if not limiter.allow("submit", str(user.id)):
        return _form(request, settings, engine, value=paper, status=429,
                     error="You have submitted a lot of papers recently. Try again later.")
    arxiv_id = parsed[0]
    max_age = settings.submission_max_age_days
    try:
        with engine.connect() as conn:
            day = today(conn) or dt.date.today()
            known = check_submittable(conn, arxiv_id, today=day, max_age_days=max_age)
        fetched = None if known is not None else fetch_from_arxiv(settings, arxiv_id)
        if known is None and fetched is None:
            return _form(request, settings, engine, value=paper, status=404,
                         error=f"arXiv has no paper {arxiv_id}.")
        with write_transaction(engine) as conn:
            if fetched is not None:
                check_age(fetched.announced_on, fetched.submitted_at, today=day,
                          max_age_days=max_age)
                # Someone may have added it meanwhile: check again inside the transaction.
                if check_submittable(conn, arxiv_id, today=day, max_age_days=max_age) is None:
                    upsert_papers(conn, [fetched])
                known = conn.execute(
                    papers.select().with_only_columns(papers.c.id)
                    .where(papers.c.arxiv_id == arxiv_id)
                ).scalar_one()
            assert known is not None
            record_submission(conn, known, user.id, day)
    except SubmissionRefused as exc:
        return _form(request, settings, engine, value=paper, status=409, error=str(exc),
                     existing=exc.arxiv_id)
    except FetchFailed as exc:
        return _form(request, settings, engine, value=paper, status=502,
                     error=f"Could not fetch {arxiv_id}: {exc}.")
    return RedirectResponse(f"/papers/{arxiv_id}?m=submitted", status_code=303)
