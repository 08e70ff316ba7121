"""Submitting a paper: an arXiv id or URL puts the paper on today's feed.

Known papers join at once; unknown ones are fetched from the arXiv API and stored first
(paperfeed.rank.submissions.submit_paper, shared with the API). The rules are stated on
the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.config import Settings
from paperfeed.identifiers import parse_arxiv_id
from paperfeed.rank.submissions import (
    FetchFailed,
    NotOnArxiv,
    SubmissionRefused,
    submission_day,
    submit_paper,
)

from ..deps import CsrfChecked, CurrentUser, EngineDep, Limiter, SettingsDep
from ..ratelimit import user_key
from ..rendering import render

router = APIRouter(tags=["pages"])


def _form(request: Request, settings: Settings, engine: Any, *, error: str | None = None,
          value: str = "", status: int = 200, existing: str | None = None) -> Response:
    with engine.connect() as conn:
        day = submission_day(conn)
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
    if not limiter.allow("submit", user_key(user.id)):
        return _form(request, settings, engine, value=paper, status=429,
                     error="You have submitted a lot of papers recently. Try again later.")
    arxiv_id = parsed[0]
    try:
        submit_paper(engine, settings, user.id, arxiv_id)
    except NotOnArxiv:
        return _form(request, settings, engine, value=paper, status=404,
                     error=f"arXiv has no paper {arxiv_id}.")
    except SubmissionRefused as exc:
        return _form(request, settings, engine, value=paper, status=409, error=str(exc),
                     existing=exc.arxiv_id)
    except FetchFailed as exc:
        return _form(request, settings, engine, value=paper, status=502,
                     error=f"Could not fetch {arxiv_id}: {exc}.")
    return RedirectResponse(f"/papers/{arxiv_id}?m=submitted", status_code=303)
