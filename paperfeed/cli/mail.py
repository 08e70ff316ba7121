"""The mail commands: ``digest send`` and ``subscribers add|list|remove|import``; thin
calls into paperfeed.mail and paperfeed.store. (``worker`` is in ops.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from paperfeed.config import Settings

from .common import common_options, engine_for, settings_from


def _embedder(settings: Settings) -> Any:
    from paperfeed.index.embedder import load_embedder

    return load_embedder(settings)


@click.group()
def digest() -> None:
    """Build and send email digests."""


@digest.command("send")
@common_options
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily",
              show_default=True)
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Announcement day (default: the newest day in the database).")
@click.option("--dry-run", is_flag=True, help="Build and render, print, send nothing.")
@click.option("--to", "only_email", metavar="ADDRESS", default=None,
              help="Only the subscriber with this address.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def digest_send(db_url: str | None, config_path: str | None, frequency: str, day: Any,
                dry_run: bool, only_email: str | None, as_json: bool) -> None:
    """Send the digests of a period: idempotent, safe under cron and with several workers."""
    from paperfeed.mail.delivery import send_digests
    from paperfeed.mail.messages import default_mailer

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    day_value = day.date() if day else None
    if dry_run:
        _dry_run(engine, settings, frequency, day_value, only_email)
        return
    report = send_digests(engine, settings, default_mailer(settings), _embedder(settings),
                          frequency=frequency, day=day_value, only_email=only_email)
    default_mailer(settings).close()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    elif report.skipped:
        click.echo(f"{report.period or 'digest'}: nothing sent ({report.skipped})")
    else:
        click.echo(
            f"{report.period}: {report.sent} sent ({report.resent} resent after a crash), "
            f"{report.empty} empty, {report.bounced} bounced, {report.deferred} deferred, "
            f"{report.paused} paused; {'finished' if report.finished else 'not finished'}"
        )
    if report.deferred:
        sys.exit(75)  # EX_TEMPFAIL: cron will run it again


def _dry_run(engine: Engine, settings: Settings, frequency: str, day: dt.date | None,
             only_email: str | None) -> None:
    from paperfeed.mail.digest import DigestBuilder, newest_day, period_for
    from paperfeed.rank.profiles import embed_missing_interests
    from paperfeed.store.database import write_transaction
    from paperfeed.store.subscriptions import find_subscription, list_subscriptions

    with write_transaction(engine) as conn:
        embed_missing_interests(conn, _embedder(settings))
    with engine.connect() as conn:
        day = day or newest_day(conn)
        if day is None:
            raise click.ClickException("no papers in the database")
        period = period_for(frequency, day)
        builder = DigestBuilder(conn, settings, _embedder(settings), period)
        if only_email:
            sub = find_subscription(conn, email=only_email)
            if sub is None:
                raise click.ClickException(f"no subscriber {only_email}")
            subs = [sub]
        else:
            subs = list_subscriptions(conn, status="active", frequency=frequency)
        digests = builder.build(conn, subs)
    sent = [d for d in digests if d.rendered]
    click.echo(f"{period.key}: {builder.paper_count} papers, {len(sent)} digests would be sent, "
               f"{len(digests) - len(sent)} empty (dry run: nothing sent)")
    if only_email and sent and sent[0].rendered:
        click.echo(f"Subject: {sent[0].rendered.subject}\n")
        click.echo(sent[0].rendered.text)


@click.group()
def subscribers() -> None:
    """Manage digest subscribers."""


@subscribers.command("add")
@common_options
@click.argument("email")
@click.option("--interest", "interests", multiple=True,
              help="Free-text interest (a saved search), repeatable.")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily",
              show_default=True)
@click.option("--content", type=click.Choice(["trending", "personal", "both"]), default="both",
              show_default=True)
@click.option("--author", "authors", multiple=True, help="Followed author, repeatable.")
@click.option("--category", "categories", multiple=True, help="Followed category, repeatable.")
@click.option("--exclude-category", "exclude", multiple=True, help="Never these categories.")
@click.option("--mute", "muted", multiple=True, help="Muted keyword, repeatable.")
@click.option("--papers", "max_papers", type=int, default=None, help="Papers per digest.")
@click.option("--confirmed", is_flag=True,
              help="The address already opted in: no confirmation email.")
def subscribers_add(db_url: str | None, config_path: str | None, email: str,
                    interests: tuple[str, ...], frequency: str, content: str,
                    authors: tuple[str, ...], categories: tuple[str, ...],
                    exclude: tuple[str, ...], muted: tuple[str, ...], max_papers: int | None,
                    confirmed: bool) -> None:
    """Add or update a subscriber (a confirmation email is sent unless --confirmed)."""
    from paperfeed.store.subscriptions import InvalidSubscription, Preferences

    settings = settings_from(db_url, config_path)
    prefs = Preferences(frequency, content, list(interests), list(authors), list(categories),
                        list(exclude), list(muted), max_papers or settings.digest_default_papers)
    try:
        sub, pending = _save(settings, [(email, prefs)], confirmed=confirmed, source="cli")[0]
    except InvalidSubscription as exc:
        raise click.ClickException(str(exc)) from exc
    state = "pending: confirmation email sent" if pending else sub.status
    click.echo(f"{sub.email}: {state} ({sub.prefs.frequency}, {sub.prefs.content})")


def _save(settings: Settings, entries: list[tuple[str, Any]], *, confirmed: bool,
          source: str) -> list[tuple[Any, bool]]:
    """Upsert subscriptions in one transaction, queue confirmations, deliver after commit."""
    from paperfeed.mail.messages import default_mailer
    from paperfeed.mail.outbox import deliver_outbox
    from paperfeed.mail.subscribing import queue_confirmation
    from paperfeed.store.database import write_transaction
    from paperfeed.store.subscriptions import upsert_subscription

    engine = engine_for(settings)
    results = []
    with write_transaction(engine) as conn:
        for email, prefs in entries:
            sub, pending = upsert_subscription(conn, email, prefs, confirmed=confirmed,
                                               source=source)
            if pending:
                queue_confirmation(conn, settings, sub)
            results.append((sub, pending))
    if any(pending for _, pending in results):
        deliver_outbox(engine, settings, default_mailer(settings))
    return results


@subscribers.command("list")
@common_options
@click.option("--status", type=click.Choice(["pending", "active", "paused", "unsubscribed"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def subscribers_list(db_url: str | None, config_path: str | None, status: str | None,
                     as_json: bool) -> None:
    """List subscribers (email, status, frequency, content, interests)."""
    from paperfeed.store.subscriptions import list_subscriptions

    engine = engine_for(settings_from(db_url, config_path))
    with engine.connect() as conn:
        subs = list_subscriptions(conn, status=status)
    for s in subs:
        if as_json:
            click.echo(json.dumps({"email": s.email, "status": s.status,
                                   "frequency": s.prefs.frequency, "content": s.prefs.content,
                                   "interests": s.prefs.interests, "failures": s.failures}))
        else:
            click.echo(f"{s.email}\t{s.status}\t{s.prefs.frequency}\t{s.prefs.content}\t"
                       f"{'; '.join(s.prefs.interests)}")
    if not as_json:
        click.echo(f"{len(subs)} subscriber(s)", err=True)


@subscribers.command("remove")
@common_options
@click.argument("emails", nargs=-1, required=True)
def subscribers_remove(
    db_url: str | None, config_path: str | None, emails: tuple[str, ...]
) -> None:
    """Delete subscribers and their digest history."""
    from paperfeed.store.database import write_transaction
    from paperfeed.store.subscriptions import delete_subscription

    engine = engine_for(settings_from(db_url, config_path))
    with write_transaction(engine) as conn:
        removed = [e for e in emails if delete_subscription(conn, e)]
    for email in emails:
        click.echo(f"{email}: {'removed' if email in removed else 'not subscribed'}")


@subscribers.command("import")
@common_options
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pending", is_flag=True,
              help="Send confirmation emails (default: the list already opted in).")
def subscribers_import(db_url: str | None, config_path: str | None, csv_file: Path,
                       pending: bool) -> None:
    """Import a CSV with a header: email (required); interests, authors, categories,
    exclude_categories, muted (';'-separated); frequency, content, papers (optional)."""
    from paperfeed.store.subscriptions import InvalidSubscription, Preferences, clean_preferences

    settings = settings_from(db_url, config_path)
    entries, errors = [], []
    with csv_file.open(newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            try:
                prefs = clean_preferences(Preferences(
                    frequency=row.get("frequency") or "daily",
                    content=row.get("content") or "both",
                    interests=row.get("interests", ""),  # type: ignore[arg-type]
                    authors=row.get("authors", ""),  # type: ignore[arg-type]
                    categories=row.get("categories", ""),  # type: ignore[arg-type]
                    exclude_categories=row.get("exclude_categories", ""),  # type: ignore[arg-type]
                    muted_keywords=row.get("muted", ""),  # type: ignore[arg-type]
                    max_papers=int(row.get("papers") or settings.digest_default_papers),
                ))
                from paperfeed.store.subscriptions import normalize_email

                entries.append((normalize_email(row.get("email", "")), prefs))
            except (InvalidSubscription, ValueError) as exc:
                errors.append(f"line {line}: {exc}")
    for error in errors[:20]:
        click.echo(f"rejected {error}", err=True)
    saved = _save(settings, entries, confirmed=not pending, source="import") if entries else []
    click.echo(f"imported {len(saved)} subscriber(s), rejected {len(errors)}")
    if errors and not saved:
        sys.exit(1)
