"""Collections: ordered lists of papers, public or private; "save to collection"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.rank.cards import load_cards
from paperfeed.store.collection_notes import item_notes
from paperfeed.store.collections import (
    CollectionError,
    add_to_collection,
    collection_paper_ids,
    create_collection,
    delete_collection,
    get_collection,
    move_in_collection,
    remove_from_collection,
    update_collection,
    user_collections,
)
from paperfeed.store.database import write_transaction
from paperfeed.store.users import User
from paperfeed.store.votes import voted_paper_ids

from ..deps import CsrfChecked, CurrentUser, EngineDep, Limiter, RowId
from ..ratelimit import user_key
from ..rendering import render
from .cached import cached_page
from .feeds import page_number
from .forms import back, paper_id_or_404, too_many

router = APIRouter(tags=["pages"])
PAPERS_PER_PAGE = 50


@router.get("/collections", response_class=HTMLResponse)
def my_collections(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    with engine.connect() as conn:
        mine = user_collections(conn, user.id, viewer_id=user.id)
    return render(request, "collections.html", {"collections": mine})


@router.get("/collections/{collection_id}", response_class=HTMLResponse)
async def collection_page(request: Request, collection_id: RowId) -> HTMLResponse:
    def build(conn: Any, user: User | None) -> tuple[str, dict[str, Any], int]:
        found = get_collection(conn, collection_id, viewer_id=user.id if user else None)
        if found is None:
            return "error.html", {"status": 404, "title": "No such collection",
                                  "detail": "It does not exist or it is private."}, 404
        every = collection_paper_ids(conn, collection_id)
        page = page_number(request)
        ids = every[(page - 1) * PAPERS_PER_PAGE:page * PAPERS_PER_PAGE]  # one page of them
        cards = load_cards(conn, ids)
        notes = item_notes(conn, collection_id)
        return "collection.html", {
            "notes": {cards[i].arxiv_id: notes[i] for i in ids if i in cards and i in notes},
            "collection": found,
            "items": [cards[i] for i in ids if i in cards],
            "voted": voted_paper_ids(conn, user.id, ids) if user else set(),
            "owner": bool(user and user.id == found.user_id),
            "page": page, "has_next": page * PAPERS_PER_PAGE < len(every),
        }, 200

    return await cached_page(request, build)


@router.post("/collections", dependencies=[CsrfChecked])
def new_collection(
    request: Request, user: CurrentUser, engine: EngineDep, limiter: Limiter,
    name: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    public: Annotated[str | None, Form()] = None,
    arxiv_id: Annotated[str | None, Form(max_length=64)] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Create a collection (and, from a paper page, save the paper into it)."""
    if not limiter.allow("collection", user_key(user.id)):
        raise too_many("changes")
    try:
        with write_transaction(engine) as conn:
            cid = create_collection(conn, user.id, name, description=description,
                                    is_public=bool(public))
            if arxiv_id:
                add_to_collection(conn, cid, user.id, paper_id_or_404(conn, arxiv_id))
    except CollectionError as exc:
        raise HTTPException(400, str(exc)) from exc
    if arxiv_id:
        return back(request, next, message="saved", default=f"/papers/{arxiv_id}")
    return RedirectResponse(f"/collections/{cid}?m=collection-saved", status_code=303)


@router.post("/collections/{collection_id}/papers", dependencies=[CsrfChecked])
def change_item(
    request: Request, collection_id: RowId, user: CurrentUser, engine: EngineDep,
    limiter: Limiter,
    arxiv_id: Annotated[str, Form(max_length=64)],
    action: Annotated[str, Form()] = "add",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """add / remove / up / down one paper in the user's own collection."""
    if not limiter.allow("collection", user_key(user.id)):
        raise too_many("changes")
    try:
        with write_transaction(engine) as conn:
            pid = paper_id_or_404(conn, arxiv_id)
            if action == "add":
                ok = add_to_collection(conn, collection_id, user.id, pid)
            elif action == "remove":
                ok = remove_from_collection(conn, collection_id, user.id, pid)
            elif action in ("up", "down"):
                ok = move_in_collection(conn, collection_id, user.id, pid,
                                        -1 if action == "up" else 1)
            else:
                raise HTTPException(400, "Unknown action.")
    except CollectionError as exc:
        raise HTTPException(400, str(exc)) from exc
    if not ok:
        raise HTTPException(403, "That collection is not yours.")
    return back(request, next, message="saved" if action == "add" else "done",
                default=f"/collections/{collection_id}")


@router.post("/collections/{collection_id}/edit", dependencies=[CsrfChecked])
def edit_collection(
    collection_id: RowId, user: CurrentUser, engine: EngineDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    public: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        with write_transaction(engine) as conn:
            ok = update_collection(conn, collection_id, user.id, name=name,
                                   description=description, is_public=bool(public))
    except CollectionError as exc:
        raise HTTPException(400, str(exc)) from exc
    if not ok:
        raise HTTPException(403, "That collection is not yours.")
    return RedirectResponse(f"/collections/{collection_id}?m=collection-saved", status_code=303)


@router.post("/collections/{collection_id}/delete", dependencies=[CsrfChecked])
def remove_collection(collection_id: RowId, user: CurrentUser, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        ok = delete_collection(conn, collection_id, user.id)
    if not ok:
        raise HTTPException(403, "That collection is not yours.")
    return RedirectResponse("/collections?m=collection-deleted", status_code=303)
