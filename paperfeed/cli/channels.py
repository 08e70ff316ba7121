"""``paperfeed channels add|list|remove|send``: post the day's papers to Slack, Discord,
Mattermost, Matrix or a signed JSON webhook (paperfeed.mail.channels)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from .common import DAY, common_options, engine_for, settings_from


@click.group()
def channels() -> None:
    """Team channels that receive a feed after each listing (exactly once per day)."""


@channels.command("add")
@common_options
@click.option("--kind", type=click.Choice(["slack", "discord", "mattermost", "matrix",
                                           "webhook"]), required=True)
@click.option("--url", required=True, help="The incoming-webhook URL (a secret).")
@click.option("--feed", type=click.Choice(["daily", "trending", "category", "search",
                                           "collection"]), default="daily", show_default=True)
@click.option("--category", default="", help="Only papers of this arXiv category (daily, "
              "trending), or the category a `category` feed follows.")
@click.option("--query", default="", help="The saved search a `search` feed follows.")
@click.option("--collection", "collection_id", type=int, default=None,
              help="The collection id a `collection` feed follows.")
@click.option("--limit", "max_papers", type=click.IntRange(1, 25), default=10,
              show_default=True, help="At most this many papers per post.")
def channels_add(db_url: str | None, config_path: str | None, kind: str, url: str, feed: str,
                 category: str, query: str, collection_id: int | None, max_papers: int) -> None:
    """Connect a channel. A webhook channel's HMAC secret is printed once."""
    from paperfeed.store.channels import ChannelError, add_channel
    from paperfeed.store.database import write_transaction

    argument = {"category": category, "search": query,
                "collection": str(collection_id or "")}.get(feed, "")
    settings = settings_from(db_url, config_path)
    try:
        with write_transaction(engine_for(settings)) as conn:
            channel = add_channel(conn, kind=kind, url=url, feed=feed, feed_arg=argument,
                                  category="" if feed == "category" else category,
                                  max_papers=max_papers)
    except ChannelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"channel {channel.id}: {kind} {channel.redacted_url}, {channel.describe_feed}")
    if channel.secret:
        click.echo(f"signing secret (shown once; verify {'X-Paperfeed-Signature'}): "
                   f"{channel.secret}")


@channels.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def channels_list(db_url: str | None, config_path: str | None, as_json: bool) -> None:
    """Every channel, its feed, state and latest posts (URLs redacted)."""
    from paperfeed.store.channels import list_channels, post_history

    settings = settings_from(db_url, config_path)
    with engine_for(settings).connect() as conn:
        rows: list[dict[str, Any]] = [
            {"id": c.id, "kind": c.kind, "url": c.redacted_url, "feed": c.feed,
             "argument": c.feed_arg, "category": c.category, "limit": c.max_papers,
             "paused": c.paused, "error": c.last_error,
             "posts": [{"period": p, "status": s, "response": r}
                       for p, s, r in post_history(conn, c.id, limit=5)]}
            for c in list_channels(conn)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no channels")
    for row in rows:
        state = f"paused: {row['error']}" if row["paused"] else "active"
        last = row["posts"][0] if row["posts"] else None
        latest = f", last {last['period']} {last['status']}" if last else ""
        click.echo(f"{row['id']}  {row['kind']:<10} {row['url']:<40} {row['feed']} "
                   f"{row['argument']} [{state}{latest}]")


@channels.command("remove")
@common_options
@click.argument("channel_id", type=int)
def channels_remove(db_url: str | None, config_path: str | None, channel_id: int) -> None:
    """Disconnect a channel (its post history goes too)."""
    from paperfeed.store.channels import remove_channel
    from paperfeed.store.database import write_transaction

    settings = settings_from(db_url, config_path)
    with write_transaction(engine_for(settings)) as conn:
        removed = remove_channel(conn, channel_id)
    if not removed:
        click.echo(f"error: no channel {channel_id}", err=True)
        sys.exit(1)
    click.echo(f"channel {channel_id} removed")


@channels.command("resume")
@common_options
@click.argument("channel_id", type=int)
def channels_resume(db_url: str | None, config_path: str | None, channel_id: int) -> None:
    """Resume a channel paused by an error (after fixing its URL or permissions)."""
    from paperfeed.store.channels import get_channel, set_paused
    from paperfeed.store.database import write_transaction

    settings = settings_from(db_url, config_path)
    with write_transaction(engine_for(settings)) as conn:
        if get_channel(conn, channel_id) is None:
            click.echo(f"error: no channel {channel_id}", err=True)
            sys.exit(1)
        set_paused(conn, channel_id, False)
    click.echo(f"channel {channel_id} resumed")


@channels.command("send")
@common_options
@click.option("--date", "day", type=DAY, default=None,
              help="Listing day (default: the newest day in the database).")
@click.option("--channel", "channel_ids", type=int, multiple=True,
              help="Only this channel (repeatable).")
@click.option("--retries", type=click.IntRange(1, 10), default=4, show_default=True,
              help="Attempts per post on 5xx / network errors.")
@click.option("--backoff", "backoff_seconds", type=click.FloatRange(0, 300), default=2.0,
              show_default=True, help="First retry delay in seconds (doubles each time).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def channels_send(db_url: str | None, config_path: str | None, day: Any,
                  channel_ids: tuple[int, ...], retries: int, backoff_seconds: float,
                  as_json: bool) -> None:
    """Post the day's feed to every due channel: safe to repeat (never posts twice)."""
    from paperfeed.mail.channels import post_channels
    from paperfeed.rank.listings import today

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    when: dt.date | None = day.date() if day else None
    if when is None:
        with engine.connect() as conn:
            when = today(conn)
    if when is None:
        click.echo("no papers yet: nothing to post")
        return
    report = post_channels(engine, settings, when, channel_ids=list(channel_ids) or None,
                           retries=retries, backoff_seconds=backoff_seconds)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(f"{report.period}: {len(report.sent)} posted, {len(report.empty)} empty, "
                   f"{len(report.skipped)} already done, {len(report.deferred)} deferred, "
                   f"{len(report.failed)} failed (paused)")
    if report.failed or report.deferred:
        sys.exit(1)
