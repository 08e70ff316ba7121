"""Papers in the database: ``init``, ``import``, ``stats``, and ``papers ls`` / ``papers
info ID``, the terminal mirror of ``/api/daily_papers`` and ``/api/papers/{id}`` (the same
functions, the same parameters and, with ``--json``, the same JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import JustifyMethod
from rich.markup import escape as rich_escape
from rich.table import Table

from paperfeed.models import ImportSummary
from paperfeed.web.api.daily_papers import MAX_PAGE_SIZE, SORTS
from paperfeed.web.api.schemas import DailyPaper, PaperDetail

from .common import (
    common_options,
    engine_for,
    exit_for,
    out,
    print_summary,
    progress_bar,
    redact,
    settings_from,
)


@click.command()
@common_options
def init(db_url: str | None, config_path: str | None) -> None:
    """Create the database or upgrade it to the current schema (safe to repeat)."""
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import upgrade_database

    settings = settings_from(db_url, config_path)
    heads = upgrade_database(open_engine(settings.database_url))
    click.echo(f"database ready at {redact(settings.database_url)} (schema {', '.join(heads)})")


@click.command("import")
@common_options
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch-size", default=5000, show_default=True, help="Papers per transaction.")
def import_(
    db_url: str | None, config_path: str | None, files: tuple[Path, ...], batch_size: int,
) -> None:
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


@click.command()
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


@click.group()
def papers() -> None:
    """List and show papers, as the JSON API does."""


@papers.command("ls")
@common_options
@click.option("--date", metavar="YYYY-MM-DD", help="Papers of one day.")
@click.option("--week", metavar="YYYY-Www", help="Papers of an ISO week, e.g. 2025-W12.")
@click.option("--month", metavar="YYYY-MM", help="Papers of a month.")
@click.option("--sort", type=click.Choice(list(SORTS)), default=None,
              help="publishedAt (newest first), trending or upvotes. Default: trending "
              "for a period, newest first otherwise.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE_SIZE), default=20,
              show_default=True, help="Papers per page.")
@click.option("--page", "page", type=click.IntRange(0), default=0, show_default=True,
              help="Page number, from 0.")
@click.option("--category", help="Only this arXiv category, e.g. cs.CV.")
@click.option("--submitter", help="Only papers this user submitted.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def papers_ls(db_url: str | None, config_path: str | None, as_json: bool, page: int,
              **params: Any) -> None:
    """Papers of a day, week or month, like GET /api/daily_papers."""
    from paperfeed.rank.periods import InvalidPeriod
    from paperfeed.web.api.daily_papers import list_daily_papers
    from paperfeed.web.api.paper_views import PaperViews
    from paperfeed.web.api.responses import dump_json

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            items, total = list_daily_papers(conn, PaperViews(settings.base_url), p=page, **params)
    except InvalidPeriod as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(dump_json(items, list[DailyPaper]).decode())
        return
    print_listing(items, total, page, params["limit"])


@papers.command("info")
@common_options
@click.argument("arxiv_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.option("--markdown", is_flag=True, help="Print the paper page as Markdown.")
def papers_info(db_url: str | None, config_path: str | None, arxiv_id: str, as_json: bool,
                markdown: bool) -> None:
    """One paper, like GET /api/papers/{id} (or /papers/{id}.md with --markdown)."""
    from paperfeed.web.api.errors import ApiError
    from paperfeed.web.api.markdown import paper_markdown
    from paperfeed.web.api.paper_views import PaperViews
    from paperfeed.web.api.papers import load_detail
    from paperfeed.web.api.responses import dump_json

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            paper, detail = load_detail(conn, PaperViews(settings.base_url), arxiv_id)
    except ApiError as exc:
        raise click.ClickException(str(exc.detail)) from exc
    if as_json:
        click.echo(dump_json(detail, PaperDetail).decode())
    elif markdown:
        click.echo(paper_markdown(paper, detail))
    else:
        print_paper(detail)


def print_listing(items: list[DailyPaper], total: int, page: int, limit: int) -> None:
    """A table: rank, id, upvotes, comments, day, title (and the score when trending)."""
    scored = any(item.score is not None for item in items)
    table = Table(title=f"{total:,} papers, page {page} ({len(items)} shown)")
    columns: list[tuple[str, JustifyMethod]] = [
        ("#", "right"), ("id", "left"), ("▲", "right"), ("💬", "right"),
        ("day", "left"), ("title", "left"),
    ]
    if scored:
        columns.insert(2, ("score", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for i, item in enumerate(items, start=page * limit + 1):
        cells = [str(i), item.paper.id, str(item.paper.upvotes), str(item.numComments),
                 item.publishedAt.date().isoformat(), escape(item.title)]
        if scored:
            cells.insert(2, f"{item.score or 0:.3f}")
        table.add_row(*cells)
    out.print(table)


def print_paper(detail: PaperDetail) -> None:
    """Title, authors, dates, votes, links and abstract."""
    out.print(f"[bold]{escape(detail.title)}[/]  ({detail.id})")
    out.print(escape(", ".join(a.name for a in detail.authors)))
    out.print(f"published {detail.publishedAt.date()} · {detail.upvotes} upvotes · "
              f"{detail.numComments} comments · {', '.join(detail.categories)}")
    for label, url in (("page", detail.url), ("arXiv", detail.arxivUrl), ("PDF", detail.pdfUrl),
                       ("code", detail.githubRepo), ("project", detail.projectPage)):
        if url:
            out.print(f"{label}: {escape(url)}")
    out.print()
    out.print(escape(detail.summary))


def escape(text: str) -> str:
    """Paper text printed as text, not as rich markup (``[b]`` in a title stays literal)."""
    return rich_escape(text)
