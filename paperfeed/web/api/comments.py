"""Comments over the JSON API: list a paper's discussion, post, reply, edit and delete.

``GET /api/papers/{id}/comments`` is public (visible comments of a visible paper, threads
oldest first, each top comment followed by its replies); writes need a personal token
(``Authorization: Bearer pf_...``; 401 without one) and act only on the caller's own
comments (403 otherwise). Posting and editing take the page's path
(paperfeed.mail.notifying), so replies and mentions notify in-app and by email the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, Field
from sqlalchemy import Connection, select

from paperfeed.mail.notifying import post_comment, revise_comment
from paperfeed.store.comments import (
    MAX_COMMENT,
    Comment,
    CommentError,
    delete_comment,
    get_comment,
    list_threads,
)
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.users import User

from ..arxiv_paths import ArxivIdPath
from ..deps import DbConn, EngineDep, RowId, SettingsDep, TokenUser
from ..rendering import comment_html
from .auth import check_rate
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import visible_paper_id
from .papers import arxiv_id_or_400
from .schemas import ApiModel, InText

router = APIRouter(tags=["comments"], responses=ERROR_RESPONSES)
MAX_THREADS = 500


class CommentOut(ApiModel):
    """One comment; ``body`` is its Markdown source, ``html`` that rendered and sanitised."""

    id: int
    paperId: str = Field(description="arXiv id of the paper.")
    parentId: int | None = Field(description="The comment this one replies to.")
    rootId: int | None = Field(description="The top comment of its thread.")
    author: str = Field(description="Username.")
    body: str
    html: str
    createdAt: AwareDatetime
    editedAt: AwareDatetime | None = Field(description="When it was last edited, if ever.")
    hidden: bool = Field(False, description="Hidden by a moderator (kept, without its text "
                         "or author, because replies answer it).")


class CommentIn(ApiModel):
    body: InText = Field(min_length=1, max_length=MAX_COMMENT * 4,
                         description=f"Markdown, at most {MAX_COMMENT} characters once trimmed.")
    parentId: int | None = Field(None, ge=1, le=2**62,
                                 description="Reply to this comment (same paper).")


class CommentEdit(ApiModel):
    body: InText = Field(min_length=1, max_length=MAX_COMMENT * 4)


def _out(conn: Connection, arxiv_id: str, found: list[Comment]) -> list[CommentOut]:
    html = comment_html(conn, found)
    return [
        CommentOut(id=c.id, paperId=arxiv_id, parentId=c.parent_id, rootId=c.root_id,
                   author="" if c.hidden else c.username, body="" if c.hidden else c.body,
                   html="" if c.hidden else str(html[c.id]), createdAt=c.created_at,
                   editedAt=c.edited_at, hidden=c.hidden)
        for c in found
    ]


def _paper(conn: Connection, raw_id: str) -> tuple[str, int]:
    arxiv_id = arxiv_id_or_400(raw_id)
    paper_id = visible_paper_id(conn, arxiv_id)
    if paper_id is None:
        raise ApiError(404, f"paper {arxiv_id} not found")
    return arxiv_id, paper_id


@router.get("/api/papers/{arxiv_id:arxiv}/comments", response_model=list[CommentOut],
            summary="A paper's comments, thread by thread")
def list_paper_comments(
    arxiv_id: ArxivIdPath, conn: DbConn,
    limit: Annotated[int, Query(ge=1, le=MAX_THREADS, description="Threads.")] = 100,
) -> list[CommentOut]:
    found_id, paper_id = _paper(conn, arxiv_id)
    threads = list_threads(conn, paper_id, limit=limit)
    return _out(conn, found_id, [c for top, replies in threads for c in (top, *replies)])


def _post(request: Request, engine: EngineDep, settings: SettingsDep, user: User,
          raw_id: str, body: str, parent_id: int | None) -> CommentOut:
    check_rate(request, "comment", user)
    try:
        with write_transaction(engine) as conn:
            arxiv_id, paper_id = _paper(conn, raw_id)
            cid = post_comment(conn, settings, paper_id, user.id, body, parent_id)
            out = _out(conn, arxiv_id, [c for c in [get_comment(conn, cid)] if c])[0]
    except CommentError as exc:
        raise ApiError(400, str(exc)) from exc
    return out


@router.post("/api/papers/{arxiv_id:arxiv}/comments", response_model=CommentOut,
             status_code=201, summary="Comment on a paper (or reply with parentId)")
def create_comment(request: Request, arxiv_id: ArxivIdPath, body: CommentIn, user: TokenUser,
                   engine: EngineDep, settings: SettingsDep) -> CommentOut:
    return _post(request, engine, settings, user, arxiv_id, body.body, body.parentId)


@router.post("/api/comments/{comment_id}/replies", response_model=CommentOut,
             status_code=201, summary="Reply to a comment")
def reply(request: Request, comment_id: RowId, body: CommentEdit, user: TokenUser,
          engine: EngineDep, settings: SettingsDep) -> CommentOut:
    with engine.connect() as conn:
        parent = get_comment(conn, comment_id)
        arxiv_id = _arxiv_id(conn, parent)
    return _post(request, engine, settings, user, arxiv_id, body.body, comment_id)


def _arxiv_id(conn: Connection, found: Comment | None) -> str:
    """The arXiv id of a visible comment's visible paper; 404 otherwise."""
    arxiv_id = None
    if found is not None and not found.hidden:
        arxiv_id = conn.execute(select(papers.c.arxiv_id).where(
            papers.c.id == found.paper_id, papers.c.hidden.is_(False))).scalar_one_or_none()
    if arxiv_id is None:
        raise ApiError(404, "comment not found")
    return str(arxiv_id)


@router.patch("/api/comments/{comment_id}", response_model=CommentOut,
              summary="Edit your comment")
def edit(request: Request, comment_id: RowId, body: CommentEdit, user: TokenUser,
         engine: EngineDep, settings: SettingsDep) -> CommentOut:
    check_rate(request, "comment", user)
    try:
        with write_transaction(engine) as conn:
            arxiv_id = _arxiv_id(conn, get_comment(conn, comment_id))
            if not revise_comment(conn, settings, comment_id, user.id, body.body):
                raise ApiError(403, "you can only edit your own comments")
            out = _out(conn, arxiv_id, [c for c in [get_comment(conn, comment_id)] if c])[0]
    except CommentError as exc:
        raise ApiError(400, str(exc)) from exc
    return out


@router.delete("/api/comments/{comment_id}", status_code=204, summary="Delete your comment")
def delete(request: Request, comment_id: RowId, user: TokenUser, engine: EngineDep) -> Response:
    check_rate(request, "comment", user)
    with write_transaction(engine) as conn:
        _arxiv_id(conn, get_comment(conn, comment_id))
        if not delete_comment(conn, comment_id, user.id):
            raise ApiError(403, "you can only delete your own comments")
    return Response(status_code=204)
