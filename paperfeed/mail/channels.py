"""Posting the day's papers to team channels, exactly once per channel and period.

``post_channels`` walks the channels that are not paused, claims each one's post for the
period in the ledger (store/channels.py), builds the post from the same listings the site
shows (rank/listings.py, rank/search.py), and delivers it: a 2xx finishes the post; a 5xx
or a network error is retried with exponential backoff and, if it persists, left
``deferred`` for the next run; a 4xx means the hook is gone or refuses us, so the post
``failed`` and the channel is paused with the error shown. A SIGKILL at any point leaves a
ledger that the next run completes without posting anything twice.

Webhook URLs are secrets: errors and reports name channels by id and redacted URL only,
and httpx's own request log line is redacted while a run is under way. A channel with an
owner (connected on the web) is checked again against the SSRF guard
(safe_urls.public_url_problem) just before its post, since DNS answers can change.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from sqlalchemy import Connection, Engine, select

from paperfeed.config import Settings
from paperfeed.rank.cards import PaperCard, load_cards
from paperfeed.rank.listings import list_period, trending
from paperfeed.rank.periods import day_period
from paperfeed.rank.search import search_papers
from paperfeed.safe_urls import public_url_problem
from paperfeed.store.channels import (
    Channel,
    PostClaim,
    claim_post,
    finish_post,
    list_channels,
    mark_sending,
    redact_url,
    set_paused,
)
from paperfeed.store.community_schema import collection_items
from paperfeed.store.database import write_transaction
from paperfeed.store.digest_ledger import hold_owner_lock, new_owner, release_owner_lock

from .channel_formats import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Post,
    PostItem,
    encode,
    payload_for,
    sign,
)

log = logging.getLogger("paperfeed.channels")


@dataclass(slots=True)
class ChannelReport:
    """What a run did, per outcome, as ``channel id -> message``."""

    period: str
    sent: dict[int, str] = field(default_factory=dict)
    empty: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # done before, or another sender has it
    deferred: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "sent": len(self.sent), "empty": len(self.empty),
                "skipped": len(self.skipped), "deferred": self.deferred, "failed": self.failed}


def build_post(conn: Connection, channel: Channel, day: dt.date, base_url: str) -> Post:
    """The papers ``channel``'s feed shows for ``day``, at most ``channel.max_papers``."""
    limit = channel.max_papers
    category = channel.category or None
    base = base_url.rstrip("/")
    cards: list[PaperCard]
    if channel.feed == "trending":
        cards = trending(conn, "week", as_of=day, limit=limit, category=category).items
        heading, url = f"Trending papers, week to {day.isoformat()}", f"{base}/trending"
    elif channel.feed == "category":
        cards = list_period(conn, day_period(day), sort="trending", limit=limit,
                            category=channel.feed_arg).items
        heading = f"{channel.feed_arg} papers of {day.isoformat()}"
        url = f"{base}/?date={day.isoformat()}"
    elif channel.feed == "search":
        found = search_papers(conn, channel.feed_arg, mode="keyword", limit=limit,
                              category=category, date_from=day, date_to=day)
        cards = list(load_cards(conn, found.paper_ids).values())
        order = {pid: n for n, pid in enumerate(found.paper_ids)}
        cards.sort(key=lambda c: order.get(c.id, 0))
        heading = f"New papers matching “{channel.feed_arg}”, {day.isoformat()}"
        url = f"{base}/search?{urlencode({'q': channel.feed_arg})}"
    elif channel.feed == "collection":
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        ids = conn.execute(
            select(collection_items.c.paper_id)
            .where(collection_items.c.collection_id == int(channel.feed_arg),
                   collection_items.c.added_at >= start,
                   collection_items.c.added_at < start + dt.timedelta(days=1))
            .order_by(collection_items.c.position).limit(limit)
        ).scalars().all()
        loaded = load_cards(conn, list(ids))
        cards = [loaded[i] for i in ids if i in loaded]
        heading = f"Added to collection {channel.feed_arg} on {day.isoformat()}"
        url = f"{base}/collections/{int(channel.feed_arg)}"
    else:  # daily
        cards = list_period(conn, day_period(day), sort="trending", limit=limit,
                            category=category).items
        heading = f"Papers of {day.isoformat()}" + (f" in {category}" if category else "")
        url = f"{base}/?date={day.isoformat()}"
    items = tuple(
        PostItem(c.arxiv_id, c.title, f"{base}/papers/{c.arxiv_id}", c.authors, c.upvotes)
        for c in cards[:limit]
    )
    return Post(heading, url, items)


Sleep = Callable[[float], None]


class _RedactUrls(logging.Filter):
    """Rewrites httpx's "HTTP Request: POST <url> ..." log record so no hook URL is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx.URL) else a
                                for a in record.args)
        return True


def deliver(client: httpx.Client, claim: PostClaim, body: bytes, *, retries: int,
            backoff_seconds: float, sleep: Sleep = time.sleep) -> tuple[str, str]:
    """POST ``body`` to the channel; returns (status, response note) with status ``sent``,
    ``failed`` (4xx) or ``deferred`` (5xx / network after ``retries`` attempts)."""
    channel = claim.channel
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: claim.delivery_id}
    note = ""
    for attempt in range(retries):
        if attempt:
            sleep(backoff_seconds * 2 ** (attempt - 1))
        if channel.kind == "webhook":
            stamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = stamp
            headers[SIGNATURE_HEADER] = sign(channel.secret, stamp, body)
        try:
            response = client.post(channel.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            note = f"network error: {type(exc).__name__}"
            continue
        note = f"HTTP {response.status_code} {response.text[:200]}".strip()
        if response.is_success:
            return "sent", note
        if 400 <= response.status_code < 500 and response.status_code != 429:
            return "failed", note
    return "deferred", note


def post_channels(
    engine: Engine,
    settings: Settings,
    day: dt.date,
    *,
    channel_ids: list[int] | None = None,
    retries: int = 4,
    backoff_seconds: float = 2.0,
    transport: httpx.BaseTransport | None = None,
    sleep: Sleep = time.sleep,
) -> ChannelReport:
    """Post ``day``'s feed to every channel that is due (or to ``channel_ids``)."""
    period = day.isoformat()
    report = ChannelReport(period)
    owner = new_owner(f"channels-{period}")
    with engine.connect() as lock_conn, httpx.Client(
        timeout=httpx.Timeout(15.0), transport=transport, follow_redirects=False,
        headers={"User-Agent": f"paperfeed ({settings.base_url})"},
    ) as client:
        hold_owner_lock(lock_conn, owner)
        redactor = _RedactUrls()
        logging.getLogger("httpx").addFilter(redactor)
        try:
            with engine.connect() as conn:
                chosen = [c for c in list_channels(conn)
                          if not c.paused and (channel_ids is None or c.id in channel_ids)]
            for channel in chosen:
                _post_one(engine, settings, client, channel, day, owner, report,
                          retries=retries, backoff_seconds=backoff_seconds, sleep=sleep)
        finally:
            logging.getLogger("httpx").removeFilter(redactor)
            release_owner_lock(lock_conn, owner)
    return report


def _post_one(engine: Engine, settings: Settings, client: httpx.Client, channel: Channel,
              day: dt.date, owner: str, report: ChannelReport, *, retries: int,
              backoff_seconds: float, sleep: Sleep) -> None:
    period = day.isoformat()
    with write_transaction(engine) as conn:
        claim = claim_post(conn, channel, period, owner)
    if claim is None:
        report.skipped.append(channel.id)
        return
    if channel.owner_id is not None and (problem := public_url_problem(channel.url)):
        with write_transaction(engine) as conn:
            finish_post(conn, claim.post_id, "failed", problem)
            set_paused(conn, channel.id, True, f"{period}: {problem}")
        log.warning("channel %s (%s) refused: %s", channel.id, channel.redacted_url, problem)
        report.failed[channel.id] = problem
        return
    with engine.connect() as conn:
        post = build_post(conn, channel, day, settings.base_url)
    if not post.items:
        with write_transaction(engine) as conn:
            finish_post(conn, claim.post_id, "empty")
        report.empty.append(channel.id)
        return
    body = encode(payload_for(channel.kind, post, feed=channel.feed, period=period))
    with write_transaction(engine) as conn:
        mark_sending(conn, claim.post_id, len(post.items))
    status, note = deliver(client, claim, body, retries=retries,
                           backoff_seconds=backoff_seconds, sleep=sleep)
    with write_transaction(engine) as conn:
        finish_post(conn, claim.post_id, status, note)
        if status == "failed":
            set_paused(conn, channel.id, True, f"{period}: {note}")
    where = f"channel {channel.id} ({channel.redacted_url})"
    if status == "sent":
        report.sent[channel.id] = note
    elif status == "failed":
        log.warning("%s refused the post and is paused: %s", where, note)
        report.failed[channel.id] = note
    else:
        log.warning("%s deferred: %s", where, note)
        report.deferred[channel.id] = note
