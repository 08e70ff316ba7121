"""Small pieces shared by the form-handling routes: safe redirects, JSON-or-redirect, the
parsed form for plain ``def`` handlers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import FormData

from ..api.paper_views import visible_paper_id


async def read_form(request: Request) -> FormData:
    """The request's form, parsed on the event loop (bounded by BodySizeLimit), so the
    handler itself can be a plain ``def`` that FastAPI runs in the threadpool: database
    and SMTP work never runs on the event loop."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(read_form)]


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go back to (never an absolute or scheme-relative URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target[:2000]


def back(request: Request, next_path: str | None, *, message: str | None = None,
         default: str = "/") -> RedirectResponse:
    target = safe_next(next_path, default)
    if message:
        target += ("&" if "?" in target else "?") + f"m={message}"
    return RedirectResponse(target, status_code=303)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def json_or_back(request: Request, data: dict[str, Any], next_path: str | None,
                 message: str | None = None) -> Response:
    if wants_json(request):
        return JSONResponse(data)
    return back(request, next_path, message=message)


def paper_id_or_404(conn: Connection, arxiv_id: str) -> int:
    """The row id of the paper a form names (it exists and is not hidden), else a 404."""
    pid = visible_paper_id(conn, arxiv_id)
    if pid is None:
        raise HTTPException(404, "No such paper.")
    return pid


def too_many(what: str) -> HTTPException:
    return HTTPException(status_code=429, detail=f"Too many {what} in a short time. "
                         "Wait a little and try again.")
