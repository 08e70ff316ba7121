"""Team channels on the web (/settings/channels): a signed-in user connects, pauses,
resumes and removes their own channels; an administrator sees and manages every channel.

The same store functions as ``paperfeed channels`` (store/channels.py) do the work. A
channel made here has an owner, so its URL must reach a public host (the SSRF guard in
safe_urls.public_url_problem, applied by add_channel and again before each post) and it
counts toward the per-user cap. Webhook URLs are secrets: pages show them redacted only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from paperfeed.store.channels import (
    FEEDS,
    KINDS,
    MAX_PAPERS,
    MAX_USER_CHANNELS,
    Channel,
    ChannelError,
    add_channel,
    get_channel,
    list_channels,
    remove_channel,
    set_paused,
)
from paperfeed.store.collections import get_collection, user_collections
from paperfeed.store.database import write_transaction
from paperfeed.store.users import User, get_user

from ..deps import CsrfChecked, CurrentUser, EngineDep
from ..rendering import render

router = APIRouter(tags=["pages"])
PAGE = "/settings/channels"


def _shown(conn: Connection, user: User) -> list[tuple[Channel, str]]:
    """(channel, owner name) of the channels ``user`` may manage."""
    chosen = list_channels(conn) if user.is_admin else \
        list_channels(conn, owner_id=user.id, everyone=False)
    names: dict[int, str] = {}
    for c in chosen:
        if c.owner_id is not None and c.owner_id not in names:
            found = get_user(conn, c.owner_id)
            names[c.owner_id] = found.username if found else "?"
    return [(c, names.get(c.owner_id, "the site") if c.owner_id else "the site")
            for c in chosen]


def _page(request: Request, conn: Connection, user: User, *, error: str = "",
          values: dict[str, str] | None = None, secret: str = "",
          status_code: int = 200) -> Response:
    return render(request, "channels.html", {
        "channels": _shown(conn, user), "kinds": KINDS, "feeds": FEEDS,
        "collections": user_collections(conn, user.id, viewer_id=user.id),
        "max_papers": MAX_PAPERS, "cap": MAX_USER_CHANNELS, "error": error,
        "values": values or {}, "secret": secret,
    }, status_code=status_code)


def _managed(conn: Connection, user: User, channel_id: int) -> Channel:
    """The channel if ``user`` may manage it; 404 otherwise (others' channels stay unseen)."""
    channel = get_channel(conn, channel_id)
    if channel is None or not (user.is_admin or channel.owner_id == user.id):
        raise HTTPException(404, "No such channel.")
    return channel


@router.get(PAGE, response_class=HTMLResponse)
def channels_page(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    with engine.connect() as conn:
        return _page(request, conn, user)


@router.post(PAGE, dependencies=[CsrfChecked])
def connect_channel(
    request: Request, user: CurrentUser, engine: EngineDep,
    kind: Annotated[str, Form(max_length=20)],
    url: Annotated[str, Form(max_length=2048)],
    feed: Annotated[str, Form(max_length=20)] = "daily",
    argument: Annotated[str, Form(max_length=500)] = "",
    collection: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    limit: Annotated[str, Form(max_length=4)] = "10",
) -> Response:
    """Connect a channel owned by the signed-in user (validated; errors re-show the form
    without the URL). A webhook's signing secret is shown once, on the answer."""
    values = {"kind": kind, "feed": feed, "argument": argument, "collection": collection,
              "category": category, "limit": limit}
    try:
        with write_transaction(engine) as conn:
            feed_arg = argument
            if feed == "collection":
                feed_arg = collection.strip()
                owned = get_collection(conn, int(feed_arg), viewer_id=user.id) \
                    if feed_arg.isdigit() else None
                if owned is None or owned.user_id != user.id:
                    raise ChannelError("a collection feed can follow only your own collection")
            elif feed not in ("category", "search"):
                feed_arg = ""
            max_papers = int(limit) if limit.strip().isdigit() else 0
            channel = add_channel(
                conn, kind=kind, url=url, feed=feed, feed_arg=feed_arg,
                category="" if feed == "category" else category, max_papers=max_papers,
                owner_id=user.id,
            )
    except ChannelError as exc:
        with engine.connect() as conn:
            return _page(request, conn, user, error=str(exc), values=values, status_code=400)
    if channel.secret:
        with engine.connect() as conn:
            return _page(request, conn, user, secret=channel.secret)
    return RedirectResponse(f"{PAGE}?m=channel-added", status_code=303)


@router.post(PAGE + "/{channel_id}/remove", dependencies=[CsrfChecked])
def remove(channel_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        remove_channel(conn, _managed(conn, user, channel_id).id)
    return RedirectResponse(f"{PAGE}?m=channel-removed", status_code=303)


@router.post(PAGE + "/{channel_id}/pause", dependencies=[CsrfChecked])
def pause(channel_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        channel = _managed(conn, user, channel_id)
        set_paused(conn, channel.id, True, channel.last_error)
    return RedirectResponse(f"{PAGE}?m=done", status_code=303)


@router.post(PAGE + "/{channel_id}/resume", dependencies=[CsrfChecked])
def resume(channel_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """Resume posting and clear the last error (as ``paperfeed channels resume``)."""
    with write_transaction(engine) as conn:
        set_paused(conn, _managed(conn, user, channel_id).id, False)
    return RedirectResponse(f"{PAGE}?m=done", status_code=303)
