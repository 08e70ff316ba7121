"""A user's public profile: their submissions and public collections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperfeed.rank.cards import load_cards
from paperfeed.store.collections import user_collections
from paperfeed.store.submissions import user_submission_ids
from paperfeed.store.users import User, get_user_by_username
from paperfeed.store.votes import voted_paper_ids

from .cached import cached_page

router = APIRouter(tags=["pages"])


@router.get("/users/{username}", response_class=HTMLResponse)
async def profile(request: Request, username: str) -> HTMLResponse:
    def build(conn: Any, user: User | None) -> tuple[str, dict[str, Any], int]:
        person = get_user_by_username(conn, username[:64])
        if person is None or (person.disabled and not (user and user.is_admin)):
            return "error.html", {"status": 404, "title": "No such user",
                                  "detail": "Nobody here goes by that name."}, 404
        ids = user_submission_ids(conn, person.id)
        cards = load_cards(conn, ids)
        items = [cards[i] for i in ids if i in cards]
        return "profile.html", {
            "person": person,
            "submitted": items,
            "voted": voted_paper_ids(conn, user.id, ids) if user else set(),
            "collections": user_collections(conn, person.id,
                                            viewer_id=user.id if user else None),
        }, 200

    return await cached_page(request, build)
