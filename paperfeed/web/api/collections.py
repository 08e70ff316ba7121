"""Collections: ordered lists of papers, public or private.

Reading: ``GET /api/collections?owner=USERNAME`` (public ones; all of them for the owner's
own token) and ``GET /api/collections/{id}`` (public, or private with the owner's token;
anything else is a 404, so private collections do not reveal that they exist).
Writing, with a token: create, delete, add and remove papers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Connection

from paperfeed.rank.cards import load_cards
from paperfeed.store import collections as store
from paperfeed.store.database import write_transaction
from paperfeed.store.users import User, get_user_by_username

from ..arxiv_paths import ArxivIdPath
from ..deps import DbConn, EngineDep, OptionalTokenUser, SettingsDep, TokenUser, Views
from .auth import check_rate
from .errors import ERROR_RESPONSES, ApiError
from .paper_views import PaperViews, hf_user, load_submissions, visible_paper_id
from .papers import arxiv_id_or_400
from .responses import cached_json
from .schemas import Collection, CollectionIn, CollectionItemIn, CollectionSummary

router = APIRouter(tags=["collections"], responses=ERROR_RESPONSES)

CollectionId = Annotated[int, Path(ge=1, le=2**62, description="Collection id.")]


def summary_of(views: PaperViews, found: store.Collection, display_name: str) -> CollectionSummary:
    """The API object of a collection without its papers."""
    return CollectionSummary(
        id=found.id, name=found.name, description=found.description, public=found.is_public,
        owner=hf_user(found.owner, display_name), numPapers=found.size,
        updatedAt=found.updated_at, url=f"{views.base_url}/collections/{found.id}",
    )


def collection_object(conn: Connection, views: PaperViews, found: store.Collection) -> Collection:
    """The API object of a collection with its visible papers in order."""
    owner = get_user_by_username(conn, found.owner)
    ids = store.collection_paper_ids(conn, found.id)
    cards = load_cards(conn, ids)
    subs = load_submissions(conn, ids)
    summary = summary_of(views, found, owner.display_name if owner else "")
    return Collection(
        **summary.model_dump(),
        papers=[views.from_card(cards[i], subs.get(i)) for i in ids if i in cards],
    )


def readable(conn: Connection, collection_id: int, viewer: User | None) -> store.Collection:
    """The collection if ``viewer`` may read it, else a 404 (private ones do not show)."""
    found = store.get_collection(conn, collection_id, viewer_id=viewer.id if viewer else None)
    if found is None:
        raise ApiError(404, f"no collection {collection_id}")
    return found


@router.get("/api/collections", response_model=list[CollectionSummary],
            summary="A user's collections")
def list_collections(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views, viewer: OptionalTokenUser,
    owner: Annotated[str, Query(min_length=1, max_length=40, description="Username.")],
) -> Response:
    """Public collections of ``owner`` (all of them when the token is the owner's)."""
    user = get_user_by_username(conn, owner)
    if user is None:
        raise ApiError(404, f"no user {owner[:40]!r}")
    found = store.user_collections(conn, user.id, viewer_id=viewer.id if viewer else None)
    items = [summary_of(views, c, user.display_name) for c in found]
    return cached_json(request, items, list[CollectionSummary], settings,
                       private=viewer is not None)


@router.get("/api/collections/{collection_id}", response_model=Collection,
            summary="One collection with its papers")
def read_collection(
    request: Request, collection_id: CollectionId, conn: DbConn, settings: SettingsDep,
    views: Views, viewer: OptionalTokenUser,
) -> Response:
    found = readable(conn, collection_id, viewer)
    return cached_json(request, collection_object(conn, views, found), Collection, settings,
                       private=not found.is_public)


@router.post("/api/collections", response_model=Collection, status_code=201,
             summary="Create a collection")
def create_collection(
    request: Request, body: CollectionIn, user: TokenUser, engine: EngineDep, views: Views,
) -> Collection:
    check_rate(request, "collection", user)
    with write_transaction(engine) as conn:
        try:
            new_id = store.create_collection(
                conn, user.id, body.name, description=body.description, is_public=body.public
            )
        except store.CollectionError as exc:
            raise ApiError(400, str(exc)) from exc
        return collection_object(conn, views, readable(conn, new_id, user))


@router.delete("/api/collections/{collection_id}", status_code=204,
               summary="Delete one of your collections")
def delete_collection(
    request: Request, collection_id: CollectionId, user: TokenUser, engine: EngineDep,
) -> Response:
    check_rate(request, "collection", user)
    with write_transaction(engine) as conn:
        if not store.delete_collection(conn, collection_id, user.id):
            raise ApiError(404, f"you have no collection {collection_id}")
    return Response(status_code=204)


@router.post("/api/collections/{collection_id}/papers", response_model=Collection,
             summary="Add a paper to one of your collections (idempotent)")
def add_paper(
    request: Request, collection_id: CollectionId, body: CollectionItemIn, user: TokenUser,
    engine: EngineDep, views: Views,
) -> Collection:
    arxiv_id = arxiv_id_or_400(body.id)
    check_rate(request, "collection", user)
    with write_transaction(engine) as conn:
        paper_id = visible_paper_id(conn, arxiv_id)
        if paper_id is None:
            raise ApiError(404, f"paper {arxiv_id} not found")
        try:
            added = store.add_to_collection(conn, collection_id, user.id, paper_id)
        except store.CollectionError as exc:
            raise ApiError(400, str(exc)) from exc
        if not added:
            raise ApiError(404, f"you have no collection {collection_id}")
        return collection_object(conn, views, readable(conn, collection_id, user))


@router.delete("/api/collections/{collection_id}/papers/{arxiv_id:arxiv}",
               response_model=Collection, summary="Remove a paper from one of your collections")
def remove_paper(
    request: Request, collection_id: CollectionId,
    arxiv_id: ArxivIdPath, user: TokenUser, engine: EngineDep,
    views: Views,
) -> Collection:
    ident = arxiv_id_or_400(arxiv_id)
    check_rate(request, "collection", user)
    with write_transaction(engine) as conn:
        paper_id = visible_paper_id(conn, ident)
        if paper_id is None:
            raise ApiError(404, f"paper {ident} not found")
        if not store.remove_from_collection(conn, collection_id, user.id, paper_id):
            raise ApiError(404, f"you have no collection {collection_id}")
        return collection_object(conn, views, readable(conn, collection_id, user))
