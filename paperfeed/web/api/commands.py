"""``paperfeed papers ls`` and ``paperfeed papers info ID``: the terminal mirror of
``/api/daily_papers`` and ``/api/papers/{id}``, through the same functions, with the same
parameters (``--date/--week/--month/--sort/--limit/--page``) and, with ``--json``, the
same JSON.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from paperfeed.rank.periods import InvalidPeriod

from .daily_papers import MAX_PAGE_SIZE, SORTS, list_daily_papers
from .dependencies import dump_json
from .markdown import paper_markdown
from .paper_views import PaperViews
from .schemas import DailyPaper, PaperDetail

out = Console()


def register(main: click.Group) -> None:
    """Add the ``papers`` command group to the ``paperfeed`` command."""
    from paperfeed.cli import common_options, engine_for, settings_from

    @main.group()
    def papers() -> None:
        """List and show papers, as the JSON API does."""

    @papers.command("ls")
    @common_options
    @click.option("--date", metavar="YYYY-MM-DD", help="Papers of one day.")
    @click.option("--week", metavar="YYYY-Www", help="Papers of an ISO week, e.g. 2025-W12.")
    @click.option("--month", metavar="YYYY-MM", help="Papers of a month.")
    @click.option("--sort", type=click.Choice(list(SORTS)), default=None,
                  help="publishedAt (newest first), trending or upvotes. Default: upvotes "
                  "for a period, newest first otherwise.")
    @click.option("--limit", type=click.IntRange(1, MAX_PAGE_SIZE), default=20,
                  show_default=True, help="Papers per page.")
    @click.option("--page", "page", type=click.IntRange(0), default=0, show_default=True,
                  help="Page number, from 0.")
    @click.option("--category", help="Only this arXiv category, e.g. cs.CV.")
    @click.option("--submitter", help="Only papers this user submitted.")
    @click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
    def ls(db_url: str | None, config_path: str | None, as_json: bool, page: int,
           **params: Any) -> None:
        """Papers of a day, week or month, like GET /api/daily_papers."""
        settings = settings_from(db_url, config_path)
        engine = engine_for(settings)
        try:
            with engine.connect() as conn:
                items, total = list_daily_papers(
                    conn, PaperViews(settings.base_url), p=page, **params
                )
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
    def info(db_url: str | None, config_path: str | None, arxiv_id: str, as_json: bool,
             markdown: bool) -> None:
        """One paper, like GET /api/papers/{id} (or /papers/{id}.md with --markdown)."""
        from .errors import ApiError
        from .papers import load_detail

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
    columns = [("#", "right"), ("id", "left"), ("▲", "right"), ("💬", "right"),
               ("day", "left"), ("title", "left")]
    if scored:
        columns.insert(2, ("score", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
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

