"""The `paperfeed` command: thin calls into ingest, store, index, rank, web and mail.

Every command accepts ``--db URL`` (else PAPERFEED_DATABASE_URL, the TOML file, or the
default SQLite file) and ``--config FILE``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from paperfeed.config import Settings, describe_settings, load_settings, settings_markdown
from paperfeed.models import ImportSummary

err = Console(stderr=True)
out = Console()


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--db and --config on every command."""
    func = click.option(
        "--db", "db_url", metavar="URL", default=None,
        help="Database URL (sqlite:///file.db or postgresql://...).",
    )(func)
    func = click.option(
        "--config", "config_path", metavar="FILE", default=None,
        help="TOML settings file (default: ./paperfeed.toml).",
    )(func)
    return func


def settings_from(db_url: str | None, config_path: str | None, **overrides: Any) -> Settings:
    if config_path:
        os.environ["PAPERFEED_CONFIG"] = config_path
    try:
        return load_settings(database_url=db_url, **overrides)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def engine_for(settings: Settings, *, migrate: bool = True) -> Any:
    """An engine on the configured database, upgraded to the current schema."""
    from paperfeed.index.terms import use_cache_dir
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import pending_revisions, upgrade_database

    engine = open_engine(settings.database_url)
    if migrate and pending_revisions(engine):
        upgrade_database(engine)
    use_cache_dir(settings.cache_dir)  # search starts from saved BM25 postings
    return engine


@contextmanager
def progress_bar(description: str, *, bytes_: bool = False) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr; yields update(done, total)."""
    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
    columns += [DownloadColumn()] if bytes_ else [MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None = None, **_: Any) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def print_summary(summary: ImportSummary, *, max_shown: int = 20) -> None:
    for rejected in summary.rejections[:max_shown]:
        err.print(
            f"[yellow]rejected[/] {rejected.position}: {rejected.reason}",
            highlight=False,
            soft_wrap=True,
        )
    if len(summary.rejections) > max_shown:
        err.print(f"... and {len(summary.rejections) - max_shown} more rejected records")
    for error in summary.errors:
        err.print(f"[red]error[/] {error}", highlight=False, soft_wrap=True)
    counts = summary.as_dict()
    click.echo(
        "summary: "
        + ", ".join(f"{n:,} {k}" for k, n in counts.items())
    )


def exit_for(summary: ImportSummary) -> None:
    """Non-zero only when nothing at all could be read."""
    if summary.read == 0 and (summary.rejected or summary.errors):
        sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paperfeed")
def main() -> None:
    """paperfeed: today's important papers, searchable, with a community and email digests."""


@main.command()
@common_options
def init(db_url: str | None, config_path: str | None) -> None:
    """Create the database or upgrade it to the current schema (safe to repeat)."""
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import upgrade_database

    settings = settings_from(db_url, config_path)
    heads = upgrade_database(open_engine(settings.database_url))
    click.echo(f"database ready at {_redact(settings.database_url)} (schema {', '.join(heads)})")


@main.command("import")
@common_options
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", default=5000, show_default=True, help="Papers per transaction.")
def import_(db_url: str | None, config_path: str | None, files: tuple[Path, ...], batch_size: int) -> None:
    """Import JSON Lines files (plain or .gz): Kaggle arXiv snapshot or listing schema."""
    from paperfeed.ingest.bulk import import_file

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    total = ImportSummary()
    for path in files:
        if not path.exists():
            total.errors.append(f"{path}: no such file")
            continue
        with progress_bar(f"import {path.name}", bytes_=True) as update:
            total.add(import_file(engine, path, progress=update, batch_size=batch_size))
    print_summary(total)
    exit_for(total)


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(db_url: str | None, config_path: str | None, as_json: bool) -> None:
    """Counts of papers by source, category and announcement day."""
    from paperfeed.store.stats import collect_stats

    engine = engine_for(settings_from(db_url, config_path))
    with engine.connect() as conn:
        data = collect_stats(conn)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    out.print(f"[bold]{data['papers']:,}[/] papers, {data['authors']:,} authors, "
              f"newest day {data['newest_day']}")
    for title, key in (("source", "by_source"), ("category", "by_category"), ("day", "by_day")):
        table = Table(title=f"papers by {title}")
        table.add_column(title)
        table.add_column("papers", justify="right")
        for name, n in data[key].items():
            table.add_row(str(name), f"{n:,}")
        out.print(table)


@main.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(db_url: str | None, config_path: str | None, host: str, port: int, workers: int) -> None:
    """Serve the web app and API."""
    import uvicorn

    settings = settings_from(db_url, config_path)
    engine_for(settings).dispose()
    os.environ["PAPERFEED_DATABASE_URL"] = settings.database_url
    click.echo(f"paperfeed on http://{host}:{port}/ ({_redact(settings.database_url)})")
    uvicorn.run(
        "paperfeed.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
    )


@main.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo corpus and stop.")
@click.pass_context
def demo(ctx: click.Context, db_url: str | None, config_path: str | None, host: str, port: int,
         no_serve: bool) -> None:
    """Load the bundled corpus (30 real arXiv listing days), index it, and serve it."""
    from paperfeed.ingest.bulk import import_file

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    corpus = resources.files("paperfeed") / "data" / "demo-listings.jsonl.gz"
    with resources.as_file(corpus) as path, progress_bar("demo corpus", bytes_=True) as update:
        summary = import_file(engine, path, progress=update)
    print_summary(summary)
    for hook in DEMO_STEPS:
        hook(settings, engine)
    if not no_serve:
        ctx.invoke(serve, db_url=settings.database_url, config_path=config_path, host=host,
                   port=port)


# Steps after the demo import that other areas add (e.g. building the search index).
DEMO_STEPS: list[Callable[[Settings, Any], None]] = []


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table docs/settings.md holds.")
def settings_cmd(markdown: bool) -> None:
    """Every setting with its environment variable, default and help."""
    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    table = Table(title="settings (defaults < paperfeed.toml < PAPERFEED_* env < flags)")
    for col in ("env var", "type", "default", "help"):
        table.add_column(col)
    for row in describe_settings():
        table.add_row(*row)
    out.print(table)


@main.group()
def ingest() -> None:
    """Fetch papers from upstream: arXiv listings and API, OAI-PMH, Hugging Face."""


_DAY = click.DateTime(formats=["%Y-%m-%d"])


def _upstream_client(settings: Settings, *, delay_seconds: float | None = None) -> Any:
    from paperfeed.ingest.upstream import Upstream

    return Upstream.from_settings(settings, delay_seconds=delay_seconds)


@ingest.command("arxiv")
@common_options
@click.option("--category", "categories", multiple=True, metavar="CAT",
              help="arXiv category, repeatable (default: the `categories` setting).")
@click.option("--base-url", default=None, help="RSS base URL (default: arxiv_rss_url).")
@click.option("--api-url", default=None, help="arXiv API URL (default: arxiv_api_url).")
@click.option("--no-details", is_flag=True, help="Keep listing fields only; skip the API.")
def ingest_arxiv(db_url: str | None, config_path: str | None, categories: tuple[str, ...],
                 base_url: str | None, api_url: str | None, no_details: bool) -> None:
    """Today's arXiv listings per category (RSS), completed from the arXiv API by id."""
    from paperfeed.ingest.arxiv_rss import ingest_listings

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    with _upstream_client(settings) as client, progress_bar("arXiv listings") as update:
        summary = ingest_listings(
            engine, client, rss_url=base_url or settings.arxiv_rss_url,
            api_url=api_url or settings.arxiv_api_url,
            categories=list(categories or settings.categories), details=not no_details,
            progress=update,
        )
    print_summary(summary)
    exit_for(summary)


@ingest.command("arxiv-api")
@common_options
@click.option("--category", "categories", multiple=True, metavar="CAT",
              help="arXiv category, repeatable (default: the `categories` setting).")
@click.option("--from", "first_day", type=_DAY, required=True, help="First submission day.")
@click.option("--until", "last_day", type=_DAY, default=None, help="Last day (default: --from).")
@click.option("--api-url", "--base-url", "api_url", default=None,
              help="arXiv API URL (default: arxiv_api_url).")
@click.option("--page-size", default=100, show_default=True, help="Entries per API request.")
def ingest_arxiv_api(db_url: str | None, config_path: str | None, categories: tuple[str, ...],
                     first_day: Any, last_day: Any, api_url: str | None, page_size: int) -> None:
    """Backfill categories by submission date range from the arXiv API (resumable)."""
    from paperfeed.ingest.arxiv_api import backfill_category

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    total = ImportSummary()
    with _upstream_client(settings) as client:
        for category in categories or settings.categories:
            with progress_bar(f"arXiv API {category}") as update:
                total.add(backfill_category(
                    engine, client, api_url=api_url or settings.arxiv_api_url,
                    category=category, first_day=first_day.date(),
                    last_day=(last_day or first_day).date(), page_size=page_size,
                    progress=update,
                ))
    print_summary(total)
    exit_for(total)


@ingest.command("oai")
@common_options
@click.option("--set", "set_spec", default=None, help="OAI set, e.g. cs or physics:hep-th.")
@click.option("--from", "first_day", type=_DAY, default=None, help="First datestamp day.")
@click.option("--until", "last_day", type=_DAY, default=None, help="Last datestamp day.")
@click.option("--base-url", default=None, help="OAI-PMH endpoint (default: arxiv_oai_url).")
def ingest_oai(db_url: str | None, config_path: str | None, set_spec: str | None,
               first_day: Any, last_day: Any, base_url: str | None) -> None:
    """Harvest arXiv OAI-PMH ListRecords (arXiv format), resuming a stopped harvest."""
    from paperfeed.ingest.oai import harvest

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    with _upstream_client(settings) as client, progress_bar("OAI-PMH") as update:
        summary = harvest(
            engine, client, oai_url=base_url or settings.arxiv_oai_url, set_spec=set_spec,
            first_day=first_day.date() if first_day else None,
            last_day=last_day.date() if last_day else None, progress=update,
        )
    print_summary(summary)
    exit_for(summary)


@ingest.command("hf")
@common_options
@click.option("--date", "first_day", type=_DAY, default=None,
              help="Day to read (default: today, UTC); with --until, the first day.")
@click.option("--until", "last_day", type=_DAY, default=None, help="Last day of a range.")
@click.option("--base-url", default=None, help="Hugging Face base URL (default: hf_url).")
def ingest_hf(db_url: str | None, config_path: str | None, first_day: Any, last_day: Any,
              base_url: str | None) -> None:
    """Hugging Face daily papers with their upvotes, submitter and links, day by day."""
    import datetime as dt

    from paperfeed.ingest.hf_daily import ingest_daily_papers

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    first = first_day.date() if first_day else dt.datetime.now(dt.UTC).date()
    # Hugging Face is not arXiv: one request a second is polite enough there.
    delay = min(settings.arxiv_delay_seconds, 1.0)
    with _upstream_client(settings, delay_seconds=delay) as client, \
            progress_bar("HF daily papers") as update:
        summary = ingest_daily_papers(
            engine, client, hf_url=base_url or settings.hf_url, first_day=first,
            last_day=last_day.date() if last_day else first, progress=update,
        )
    print_summary(summary)
    exit_for(summary)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_mail_commands() -> None:
    from paperfeed.mail.commands import register

    register(main)


_register_mail_commands()


def _register_search_commands() -> None:
    from paperfeed.rank.commands import register

    register(main)  # index, search, similar, eval beir; adds indexing to DEMO_STEPS


_register_search_commands()


def _register_papers_commands() -> None:
    from paperfeed.web.api.commands import register

    register(main)  # papers ls / papers info: the terminal mirror of the JSON API


_register_papers_commands()


if __name__ == "__main__":
    main()
