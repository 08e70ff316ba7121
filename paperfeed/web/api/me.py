"""``GET /api/me``: the account behind the token (never its email or password hash)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import Table, func, select

from paperfeed.store.community_schema import collections, submissions, votes
from paperfeed.store.feed_keys import feed_key
from paperfeed.web.feeds.personal import personal_feed_path

from ..deps import DbConn, SettingsDep, TokenUser
from .errors import ERROR_RESPONSES
from .responses import cached_json
from .schemas import Me

router = APIRouter(tags=["me"], responses=ERROR_RESPONSES)


@router.get("/api/me", response_model=Me, summary="The account of the token")
def me(request: Request, user: TokenUser, conn: DbConn, settings: SettingsDep) -> Response:
    def count(table: Table) -> int:
        return int(conn.execute(
            select(func.count()).select_from(table).where(table.c.user_id == user.id)
        ).scalar_one())

    body = Me(
        user=user.username,
        name=user.username,
        fullname=user.name,
        bio=user.bio,
        isAdmin=user.is_admin,
        createdAt=user.created_at,
        numSubmissions=count(submissions),
        numUpvotes=count(votes),
        numCollections=count(collections),
        feedUrl=settings.base_url + personal_feed_path(settings.secret_key, user.id,
                                                       user.username, feed_key(conn, user.id)),
    )
    return cached_json(request, body, Me, settings, private=True)
