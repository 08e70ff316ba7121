"""The admin area: the queue of reported comments, hide papers or comments, disable users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.identifiers import parse_arxiv_id
from paperfeed.store.comments import recent_comments, set_comment_hidden
from paperfeed.store.database import write_transaction
from paperfeed.store.moderation import hidden_papers, set_paper_hidden
from paperfeed.store.reports import open_reports, resolve_reports
from paperfeed.store.sessions import end_user_sessions
from paperfeed.store.users import get_user_by_username, list_users, set_user_disabled

from ..deps import AdminUser, CsrfChecked, EngineDep, RowId
from ..rendering import render

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request, admin: AdminUser, engine: EngineDep) -> Response:
    with engine.connect() as conn:
        context = {
            "users": list_users(conn, limit=100),
            "comments": recent_comments(conn, limit=50),
            "hidden": hidden_papers(conn),
            "reports": open_reports(conn),
        }
    return render(request, "admin.html", context)


@router.post("/papers", dependencies=[CsrfChecked])
def hide_paper(admin: AdminUser, engine: EngineDep,
               arxiv_id: Annotated[str, Form(max_length=300)],
               action: Annotated[str, Form()] = "hide") -> Response:
    parsed = parse_arxiv_id(arxiv_id)
    if parsed is None:
        raise HTTPException(400, "That is not an arXiv id.")
    with write_transaction(engine) as conn:
        if not set_paper_hidden(conn, parsed[0], action == "hide"):
            raise HTTPException(404, "No such paper.")
    return RedirectResponse("/admin?m=done", status_code=303)


@router.post("/comments/{comment_id}", dependencies=[CsrfChecked])
def hide_comment(comment_id: RowId, admin: AdminUser, engine: EngineDep,
                 action: Annotated[str, Form()] = "hide",
                 next: Annotated[str | None, Form()] = None) -> Response:
    with write_transaction(engine) as conn:
        if not set_comment_hidden(conn, comment_id, action == "hide"):
            raise HTTPException(404, "No such comment.")
    target = next if next and next.startswith("/") and not next.startswith("//") else "/admin"
    return RedirectResponse(target, status_code=303)


@router.post("/reports/{comment_id}", dependencies=[CsrfChecked])
def resolve_report(comment_id: RowId, admin: AdminUser, engine: EngineDep,
                   action: Annotated[str, Form()] = "dismiss") -> Response:
    """Close a reported comment's reports: ``hide`` the comment or ``dismiss`` them."""
    if action not in ("hide", "dismiss"):
        raise HTTPException(400, "Unknown action.")
    with write_transaction(engine) as conn:
        if not resolve_reports(conn, comment_id, hide=action == "hide"):
            raise HTTPException(404, "That comment has no open report.")
    return RedirectResponse("/admin?m=done#reports-title", status_code=303)


@router.post("/users/{username}", dependencies=[CsrfChecked])
def disable_user(username: str, admin: AdminUser, engine: EngineDep,
                 action: Annotated[str, Form()] = "disable") -> Response:
    with write_transaction(engine) as conn:
        target = get_user_by_username(conn, username)
        if target is None:
            raise HTTPException(404, "No such user.")
        if target.id == admin.id:
            raise HTTPException(400, "You cannot disable yourself.")
        set_user_disabled(conn, target.id, action == "disable")
        if action == "disable":
            end_user_sessions(conn, target.id)
    return RedirectResponse("/admin?m=done", status_code=303)
