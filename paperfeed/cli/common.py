"""What every command shares: the ``--db``/``--config`` options, settings and engine
loading, progress bars and import summaries."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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
from sqlalchemy import Engine

from paperfeed.config import Settings, load_settings
from paperfeed.models import ImportSummary

err = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])

DAY = click.DateTime(formats=["%Y-%m-%d"])


def common_options(func: F) -> F:
    """``--db URL`` and ``--config FILE`` (passed as ``db_url`` and ``config_path``): every
    command takes them."""
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
    """Settings from defaults < TOML < env < these flags; an invalid value is a clear error."""
    if config_path:
        os.environ["PAPERFEED_CONFIG"] = config_path
    try:
        return load_settings(database_url=db_url, **overrides)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def engine_for(settings: Settings, *, migrate: bool = True) -> Engine:
    """An engine on the configured database, upgraded to the current schema."""
    from paperfeed.index.saved_arrays import use_cache_dir
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import pending_revisions, upgrade_database

    engine = open_engine(settings.database_url)
    if migrate and pending_revisions(engine):
        upgrade_database(engine)
    use_cache_dir(engine, settings.cache_dir)  # search index sets shared by processes
    return engine


# Whether progress bars are drawn: the worker hides them when it writes JSON log lines.
progress_shown = {"value": True}


@contextmanager
def progress_bar(description: str, *, bytes_: bool = False) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr; yields update(done, total)."""
    if not progress_shown["value"]:
        yield lambda done, total=None, **_: None
        return
    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn()]
    columns += [DownloadColumn()] if bytes_ else [MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None = None, **_: Any) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def print_summary(summary: ImportSummary, *, max_shown: int = 20) -> None:
    """Rejected records and errors on stderr, then one ``summary:`` line of counts."""
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


def redact(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
