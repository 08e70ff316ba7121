"""Collections: a user's ordered lists of papers, public or private.

Functions never commit. Reading a private collection is the caller's decision: functions
that list take ``viewer_id`` and leave out private collections of other users.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, delete, func, select, update

from .community_schema import collection_items, collections, users
from .data_version import bump_data_version
from .public_ids import new_id_values
from .schema import papers

MAX_NAME = 120
MAX_COLLECTIONS_PER_USER = 100
MAX_PAPERS_PER_COLLECTION = 1000


class CollectionError(ValueError):
    """A collection change that cannot be made; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    user_id: int
    owner: str  # username
    name: str
    description: str
    is_public: bool
    size: int
    updated_at: dt.datetime


def _stmt() -> Select[Any]:
    size = (
        select(func.count())
        .select_from(collection_items)
        .where(collection_items.c.collection_id == collections.c.id)
        .scalar_subquery()
    )
    return select(collections, users.c.username, size.label("size")).join(
        users, users.c.id == collections.c.user_id
    )


def _collection(r: Row[Any]) -> Collection:
    return Collection(
        id=r.id, user_id=r.user_id, owner=r.username, name=r.name, description=r.description,
        is_public=bool(r.is_public), size=int(r.size), updated_at=r.updated_at,
    )


def create_collection(
    conn: Connection, user_id: int, name: str, *, description: str = "", is_public: bool = False
) -> int:
    """A new empty collection; returns its id. Raises CollectionError for a bad name or
    when the user already has MAX_COLLECTIONS_PER_USER collections."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise CollectionError(f"Give the collection a name of 1-{MAX_NAME} characters.")
    owned = conn.execute(select(func.count()).select_from(collections)
                         .where(collections.c.user_id == user_id)).scalar_one()
    if owned >= MAX_COLLECTIONS_PER_USER:
        raise CollectionError(f"You can have at most {MAX_COLLECTIONS_PER_USER} collections.")
    now = dt.datetime.now(dt.UTC)
    return int(
        conn.execute(
            collections.insert()
            .values(**new_id_values(conn, "collections"), user_id=user_id, name=name,
                    description=description.strip()[:2000], is_public=is_public,
                    created_at=now, updated_at=now)
            .returning(collections.c.id)
        ).scalar_one()
    )


def update_collection(
    conn: Connection, collection_id: int, user_id: int, *, name: str, description: str,
    is_public: bool,
) -> bool:
    """Rename / describe / publish the user's own collection; False when not theirs."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise CollectionError(f"Give the collection a name of 1-{MAX_NAME} characters.")
    result = conn.execute(
        update(collections)
        .where(collections.c.id == collection_id, collections.c.user_id == user_id)
        .values(name=name, description=description.strip()[:2000], is_public=is_public,
                updated_at=dt.datetime.now(dt.UTC))
    )
    bump_data_version(conn)
    return result.rowcount == 1


def delete_collection(conn: Connection, collection_id: int, user_id: int) -> bool:
    """Delete the user's own collection and its items."""
    conn.execute(
        delete(collection_items).where(
            collection_items.c.collection_id == collection_id,
            collection_items.c.collection_id.in_(
                select(collections.c.id).where(collections.c.user_id == user_id)
            ),
        )
    )
    result = conn.execute(
        delete(collections).where(
            collections.c.id == collection_id, collections.c.user_id == user_id
        )
    )
    bump_data_version(conn)
    return result.rowcount == 1


def get_collection(
    conn: Connection, collection_id: int, *, viewer_id: int | None = None
) -> Collection | None:
    """The collection if it is public or the viewer owns it, else None."""
    row = conn.execute(_stmt().where(collections.c.id == collection_id)).first()
    if row is None or (not row.is_public and row.user_id != viewer_id):
        return None
    return _collection(row)


def user_collections(
    conn: Connection, user_id: int, *, viewer_id: int | None = None
) -> list[Collection]:
    """A user's collections the viewer may see (all of them for the owner), newest first."""
    cond = collections.c.user_id == user_id
    if viewer_id != user_id:
        cond = and_(cond, collections.c.is_public.is_(True))
    rows = conn.execute(_stmt().where(cond).order_by(collections.c.updated_at.desc())).all()
    return [_collection(r) for r in rows]


def collection_paper_ids(conn: Connection, collection_id: int) -> list[int]:
    """The collection's visible papers in their order."""
    return list(
        conn.execute(
            select(collection_items.c.paper_id)
            .join(papers, papers.c.id == collection_items.c.paper_id)
            .where(collection_items.c.collection_id == collection_id, papers.c.hidden.is_(False))
            .order_by(collection_items.c.position, collection_items.c.added_at)
        ).scalars()
    )


def collections_with_paper(conn: Connection, user_id: int, paper_id: int) -> set[int]:
    """Ids of the user's collections that already hold the paper."""
    return set(
        conn.execute(
            select(collection_items.c.collection_id)
            .join(collections, collections.c.id == collection_items.c.collection_id)
            .where(collections.c.user_id == user_id, collection_items.c.paper_id == paper_id)
        ).scalars()
    )


def owns_collection(conn: Connection, collection_id: int, user_id: int) -> bool:
    return conn.execute(
        select(collections.c.id).where(
            collections.c.id == collection_id, collections.c.user_id == user_id
        )
    ).first() is not None


def touch_collection(conn: Connection, collection_id: int) -> None:
    conn.execute(
        update(collections)
        .where(collections.c.id == collection_id)
        .values(updated_at=dt.datetime.now(dt.UTC))
    )
    bump_data_version(conn)


def add_to_collection(conn: Connection, collection_id: int, user_id: int, paper_id: int) -> bool:
    """Append the paper to the user's own collection (no-op if already there). Raises
    CollectionError when it already holds MAX_PAPERS_PER_COLLECTION papers."""
    if not owns_collection(conn, collection_id, user_id):
        return False
    exists = conn.execute(
        select(collection_items.c.paper_id).where(
            collection_items.c.collection_id == collection_id,
            collection_items.c.paper_id == paper_id,
        )
    ).first()
    if exists is None:
        held = conn.execute(select(func.count()).select_from(collection_items)
                            .where(collection_items.c.collection_id == collection_id)).scalar_one()
        if held >= MAX_PAPERS_PER_COLLECTION:
            raise CollectionError(
                f"A collection holds at most {MAX_PAPERS_PER_COLLECTION} papers.")
        last = conn.execute(
            select(func.coalesce(func.max(collection_items.c.position), -1)).where(
                collection_items.c.collection_id == collection_id
            )
        ).scalar_one()
        conn.execute(
            collection_items.insert().values(
                collection_id=collection_id, paper_id=paper_id, position=int(last) + 1,
                added_at=dt.datetime.now(dt.UTC),
            )
        )
        touch_collection(conn, collection_id)
    return True


def remove_from_collection(
    conn: Connection, collection_id: int, user_id: int, paper_id: int
) -> bool:
    """Take the paper out of the user's own collection."""
    if not owns_collection(conn, collection_id, user_id):
        return False
    conn.execute(
        delete(collection_items).where(
            collection_items.c.collection_id == collection_id,
            collection_items.c.paper_id == paper_id,
        )
    )
    touch_collection(conn, collection_id)
    return True


def move_in_collection(
    conn: Connection, collection_id: int, user_id: int, paper_id: int, steps: int
) -> bool:
    """Move a paper ``steps`` places (negative = up) in the user's own collection."""
    if not owns_collection(conn, collection_id, user_id):
        return False
    order = list(
        conn.execute(
            select(collection_items.c.paper_id)
            .where(collection_items.c.collection_id == collection_id)
            .order_by(collection_items.c.position, collection_items.c.added_at)
        ).scalars()
    )
    if paper_id not in order:
        return False
    i = order.index(paper_id)
    order.insert(max(0, min(len(order) - 1, i + steps)), order.pop(i))
    for pos, pid in enumerate(order):
        conn.execute(
            update(collection_items)
            .where(collection_items.c.collection_id == collection_id,
                   collection_items.c.paper_id == pid)
            .values(position=pos)
        )
    touch_collection(conn, collection_id)
    return True
