"""Following: follow an author, a category or a search from its page, and the "Following"
page that lists and edits them all (store/follows.py: the same rows the digest form edits).

The buttons POST (with CSRF) and come back to the page they were pressed on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from paperfeed.ingest.normalize import is_arxiv_category
from paperfeed.store.database import write_transaction
from paperfeed.store.follows import (
    KINDS,
    LIMITS,
    Follow,
    InvalidFollow,
    Owner,
    add_follow,
    find_follow,
    list_follows,
    remove_follow,
)
from paperfeed.store.users import User

from ..deps import CsrfChecked, CurrentUser, EngineDep, RowId
from ..rendering import render
from .forms import back

router = APIRouter(tags=["following"])
HEADINGS = {"author": "Authors", "category": "Categories", "search": "Saved searches"}


def follow_state(conn: Connection, user: User | None, kind: str, value: str,
                 filters: dict[str, str] | None = None) -> Follow | None:
    """The user's follow of this author / category / search, for the button's state."""
    if user is None:
        return None
    return find_follow(conn, Owner(user_id=user.id), kind, value, filters)


def _page(request: Request, conn: Connection, user: User, *, error: str = "",
          status_code: int = 200) -> HTMLResponse:
    followed = list_follows(conn, Owner(user_id=user.id))
    groups = [(kind, HEADINGS[kind], [f for f in followed if f.kind == kind])
              for kind in ("author", "category", "search")]
    return render(request, "following.html", {"groups": groups, "error": error,
                                              "limits": LIMITS}, status_code=status_code)


@router.get("/following", response_class=HTMLResponse)
def following_page(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    """Everything the user follows, with a remove button each and a form to add more."""
    with engine.connect() as conn:
        return _page(request, conn, user)


@router.post("/following", response_class=HTMLResponse, dependencies=[CsrfChecked])
def follow(request: Request, user: CurrentUser, engine: EngineDep,
           kind: Annotated[str, Form(max_length=16)] = "",
           value: Annotated[str, Form(max_length=2000)] = "",
           category: Annotated[str, Form(max_length=200)] = "",
           author: Annotated[str, Form(max_length=200)] = "",
           next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Follow an author, category or search (query + category / author filters)."""
    try:
        with write_transaction(engine) as conn:
            if kind not in KINDS:
                raise InvalidFollow("choose an author, a category or a search to follow")
            if kind == "category" and not is_arxiv_category(value.strip()):
                raise InvalidFollow("categories look like cs.CL or math.AG")
            add_follow(conn, Owner(user_id=user.id), kind, value,
                       {"category": category, "author": author})
    except InvalidFollow as exc:
        with engine.connect() as conn:
            return _page(request, conn, user, error=str(exc), status_code=422)
    return back(request, next, message="followed", default="/following")


@router.post("/following/{follow_id}/delete", dependencies=[CsrfChecked])
def unfollow(request: Request, follow_id: RowId, user: CurrentUser, engine: EngineDep,
             next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Stop following (only one's own follows; anything else changes nothing)."""
    with write_transaction(engine) as conn:
        remove_follow(conn, Owner(user_id=user.id), follow_id)
    return back(request, next, message="unfollowed", default="/following")
