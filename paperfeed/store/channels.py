"""Team channels and their post ledger (tables in channel_schema.py).

Exactly-once per (channel, period) follows the digest ledger's discipline: a post is
claimed (unique row) before anything is built, marked ``sending`` in its own committed
transaction just before the HTTP request, and finished after the answer. A row left
``claimed`` by a dead sender is retaken (nothing went out); a row left ``sending`` by a
dead sender may have been posted: it is retaken only for signed webhooks (the receiver
de-duplicates on ``X-Paperfeed-Delivery``) and otherwise marked ``unknown``, never posted
twice. Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, update

from paperfeed.safe_urls import public_url_problem

from .channel_schema import channel_posts, channels
from .database import dialect
from .digest_ledger import owner_is_alive

Kind = Literal["slack", "discord", "mattermost", "matrix", "webhook"]
FeedKind = Literal["daily", "trending", "category", "search", "collection"]
KINDS: tuple[str, ...] = ("slack", "discord", "mattermost", "matrix", "webhook")
FEEDS: tuple[str, ...] = ("daily", "trending", "category", "search", "collection")
DEDUPLICATING_KINDS = ("webhook",)  # receivers that honour X-Paperfeed-Delivery
FINAL = ("sent", "empty", "failed", "unknown")
MAX_PAPERS = 25
MAX_USER_CHANNELS = 10  # per owner; site channels (owner NULL, the CLI's) are not capped


class ChannelError(ValueError):
    """A channel that cannot be created as asked (message is for the user)."""


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    kind: str
    url: str
    secret: str
    feed: str
    feed_arg: str
    category: str
    max_papers: int
    owner_id: int | None
    paused: bool
    last_error: str
    created_at: dt.datetime

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def describe_feed(self) -> str:
        parts = [self.feed] + ([repr(self.feed_arg)] if self.feed_arg else [])
        if self.category:
            parts.append(f"in {self.category}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class PostClaim:
    """A post this sender may make: its ledger row and the delivery id to send."""

    post_id: int
    channel: Channel
    period: str
    delivery_id: str


def redact_url(url: str) -> str:
    """A webhook URL with its secret part hidden: scheme, host and 4 characters of path."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    shown = path[:4] + ("…" if len(path) > 4 or parts.query else "")
    return f"{parts.scheme}://{parts.hostname or ''}/{shown}"


def _check(kind: str, url: str, feed: str, feed_arg: str, max_papers: int) -> None:
    if kind not in KINDS:
        raise ChannelError(f"kind must be one of {', '.join(KINDS)}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelError("the URL must be an http(s) URL with a host")
    if feed not in FEEDS:
        raise ChannelError(f"feed must be one of {', '.join(FEEDS)}")
    if feed in ("category", "search", "collection") and not feed_arg.strip():
        raise ChannelError(f"a {feed} feed needs its argument (the {feed} to follow)")
    if feed == "collection" and not feed_arg.strip().isdigit():
        raise ChannelError("a collection feed needs the collection's numeric id")
    if not 1 <= max_papers <= MAX_PAPERS:
        raise ChannelError(f"the limit must be between 1 and {MAX_PAPERS}")


def add_channel(
    conn: Connection,
    *,
    kind: str,
    url: str,
    feed: str,
    feed_arg: str = "",
    category: str = "",
    max_papers: int = 10,
    owner_id: int | None = None,
) -> Channel:
    """Create a channel (validated; raises ChannelError). Signed webhooks get a random
    HMAC secret, returned once in the Channel.

    A channel with an owner (connected on the web) must target a public host
    (:func:`paperfeed.safe_urls.public_url_problem`, checked again before each post) and
    counts toward the owner's cap of MAX_USER_CHANNELS; a site channel (``owner_id`` None,
    made with ``paperfeed channels add``) may target internal hosts."""
    url = url.strip()
    _check(kind, url, feed, feed_arg, max_papers)
    if owner_id is not None:
        if (problem := public_url_problem(url)) is not None:
            raise ChannelError(problem)
        owned = conn.execute(select(func.count()).select_from(channels)
                             .where(channels.c.owner_id == owner_id)).scalar_one()
        if owned >= MAX_USER_CHANNELS:
            raise ChannelError(f"you already have {MAX_USER_CHANNELS} channels, the most "
                               "allowed; remove one first")
    secret = secrets.token_urlsafe(32) if kind == "webhook" else ""
    new_id = conn.execute(
        insert(channels).values(
            kind=kind, url=url, secret=secret, feed=feed, feed_arg=feed_arg.strip(),
            category=category.strip(), max_papers=max_papers, owner_id=owner_id,
            created_at=dt.datetime.now(dt.UTC),
        ).returning(channels.c.id)
    ).scalar_one()
    channel = get_channel(conn, int(new_id))
    assert channel is not None
    return channel


def _channel(row: object) -> Channel:
    return Channel(**{c.name: getattr(row, c.name) for c in channels.columns})


def get_channel(conn: Connection, channel_id: int) -> Channel | None:
    row = conn.execute(select(channels).where(channels.c.id == channel_id)).first()
    return _channel(row) if row is not None else None


def list_channels(conn: Connection, *, owner_id: int | None = None,
                  everyone: bool = True) -> list[Channel]:
    """All channels (``everyone``) or those of ``owner_id`` (None: the site's own)."""
    query = select(channels).order_by(channels.c.id)
    if not everyone:
        query = query.where(
            channels.c.owner_id.is_(None) if owner_id is None else channels.c.owner_id == owner_id
        )
    return [_channel(r) for r in conn.execute(query)]


def remove_channel(conn: Connection, channel_id: int) -> bool:
    """Delete a channel and its ledger; False when there was none."""
    return conn.execute(delete(channels).where(channels.c.id == channel_id)).rowcount > 0


def set_paused(conn: Connection, channel_id: int, paused: bool, error: str = "") -> None:
    conn.execute(update(channels).where(channels.c.id == channel_id)
                 .values(paused=paused, last_error=error[:1000]))


def claim_post(conn: Connection, channel: Channel, period: str, owner: str) -> PostClaim | None:
    """Claim ``channel``'s post for ``period``, or None when it is done or another live
    sender has it. Retakes rows of dead senders as the module docstring says."""
    row = conn.execute(
        select(channel_posts).where(channel_posts.c.channel_id == channel.id,
                                    channel_posts.c.period == period)
    ).first()
    now = dt.datetime.now(dt.UTC)
    if row is None:
        delivery = secrets.token_hex(16)
        inserted = conn.execute(
            dialect(conn).insert(channel_posts).values(
                channel_id=channel.id, period=period, status="claimed", owner=owner,
                delivery_id=delivery, claimed_at=now,
            ).on_conflict_do_nothing().returning(channel_posts.c.id)
        ).scalar_one_or_none()
        return PostClaim(int(inserted), channel, period, delivery) if inserted else None
    if row.status in FINAL:
        return None
    if row.owner != owner and row.status in ("claimed", "sending") \
            and owner_is_alive(conn, row.owner):
        return None
    if row.status == "sending" and channel.kind not in DEDUPLICATING_KINDS:
        finish_post(conn, row.id, "unknown",
                    "the sender died during the request; not repeated (it may have posted)")
        return None
    taken = conn.execute(
        update(channel_posts)
        .where(channel_posts.c.id == row.id, channel_posts.c.owner == row.owner,
               channel_posts.c.status == row.status)
        .values(owner=owner, status="claimed", claimed_at=now)
    ).rowcount
    return PostClaim(row.id, channel, period, row.delivery_id) if taken else None


def mark_sending(conn: Connection, post_id: int, papers: int) -> None:
    conn.execute(update(channel_posts).where(channel_posts.c.id == post_id).values(
        status="sending", papers=papers, attempts=channel_posts.c.attempts + 1))


def finish_post(conn: Connection, post_id: int, status: str, response: str = "") -> None:
    """End a post: sent | empty | deferred | failed | unknown."""
    conn.execute(update(channel_posts).where(channel_posts.c.id == post_id).values(
        status=status, response=response[:300], finished_at=dt.datetime.now(dt.UTC)))


def post_history(conn: Connection, channel_id: int, *, limit: int = 10) -> list[tuple[str, str,
                                                                                      str]]:
    """(period, status, response) of a channel's latest posts, newest first."""
    rows = conn.execute(
        select(channel_posts.c.period, channel_posts.c.status, channel_posts.c.response)
        .where(channel_posts.c.channel_id == channel_id)
        .order_by(channel_posts.c.period.desc()).limit(limit)
    )
    return [(r.period, r.status, r.response) for r in rows]
