"""Posting, replying to, editing, deleting and reporting comments (the paper page's forms).

Posting and editing go through paperfeed.mail.notifying (the one path the JSON API takes
too): the comment, its notifications and their queued emails commit together; the app's
background sender delivers the outbox after the commit (the worker retries what fails).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, select

from paperfeed.mail.notifying import post_comment, revise_comment
from paperfeed.store.comments import CommentError, delete_comment, get_comment
from paperfeed.store.database import write_transaction
from paperfeed.store.reports import report_comment
from paperfeed.store.schema import papers

from ..arxiv_paths import ArxivIdPath
from ..deps import CsrfChecked, CurrentUser, EngineDep, Limiter, RowId, get_settings
from ..ratelimit import user_key
from .forms import too_many
from .papers import paper_row

router = APIRouter(tags=["pages"])


def _arxiv_id_of(conn: Connection, paper_id: int) -> str:
    return str(conn.execute(select(papers.c.arxiv_id).where(papers.c.id == paper_id))
               .scalar_one())


@router.post("/papers/{arxiv_id:arxiv}/comments", dependencies=[CsrfChecked])
def add(
    request: Request, arxiv_id: ArxivIdPath, user: CurrentUser, engine: EngineDep,
    limiter: Limiter, body: Annotated[str, Form(max_length=20000)] = "",
    parent_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> Response:
    """A new comment, or with ``parent_id`` a reply to one."""
    if not limiter.allow("comment", user_key(user.id)):
        raise too_many("comments")
    with engine.connect() as conn:
        row = paper_row(conn, arxiv_id)
    if row is None:
        raise HTTPException(404, "No such paper.")
    try:
        with write_transaction(engine) as conn:
            cid = post_comment(conn, get_settings(request), int(row.id), user.id, body,
                               parent_id)
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from exc
    return RedirectResponse(f"/papers/{arxiv_id}?m=comment-posted#comment-{cid}", 303)


@router.post("/comments/{comment_id}/edit", dependencies=[CsrfChecked])
def edit(
    request: Request, comment_id: RowId, user: CurrentUser, engine: EngineDep, limiter: Limiter,
    body: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    if not limiter.allow("comment", user_key(user.id)):  # an edit can notify, like a new comment
        raise too_many("edits")
    try:
        with write_transaction(engine) as conn:
            found = get_comment(conn, comment_id)
            if found is None or not revise_comment(conn, get_settings(request),
                                                   comment_id, user.id, body):
                raise HTTPException(403, "You can only edit your own comments.")
            arxiv_id = _arxiv_id_of(conn, found.paper_id)
    except CommentError as exc:
        raise HTTPException(400, str(exc)) from exc
    return RedirectResponse(f"/papers/{arxiv_id}?m=comment-saved#comment-{comment_id}", 303)


@router.post("/comments/{comment_id}/delete", dependencies=[CsrfChecked])
def remove(comment_id: RowId, user: CurrentUser, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        found = get_comment(conn, comment_id)
        if found is None or not delete_comment(conn, comment_id, user.id):
            raise HTTPException(403, "You can only delete your own comments.")
        arxiv_id = _arxiv_id_of(conn, found.paper_id)
    return RedirectResponse(f"/papers/{arxiv_id}?m=comment-deleted#comments", 303)


@router.post("/comments/{comment_id}/report", dependencies=[CsrfChecked])
def report(
    comment_id: RowId, user: CurrentUser, engine: EngineDep, limiter: Limiter,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Flag a comment for the admins' moderation queue (/admin)."""
    if not limiter.allow("comment", user_key(user.id)):
        raise too_many("reports")
    with write_transaction(engine) as conn:
        found = get_comment(conn, comment_id)
        if found is None or found.hidden or not report_comment(conn, comment_id, user.id,
                                                                reason):
            raise HTTPException(404, "No such comment.")
        arxiv_id = _arxiv_id_of(conn, found.paper_id)
    return RedirectResponse(f"/papers/{arxiv_id}?m=comment-reported#comment-{comment_id}", 303)
