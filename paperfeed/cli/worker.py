"""The background side: ``worker`` (ingest, catch up, index, post, mail on arXiv's
timetable) and ``status`` (how each of its jobs last went)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout

import click
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.models import ImportSummary

from .common import (
    common_options,
    engine_for,
    print_summary,
    progress_bar,
    progress_shown,
    settings_from,
)
from .ingest import _upstream_client, read_arxiv_listings, read_hf_days
from .search import index_cmd

# Every job of a worker cycle, in the order it runs them (see mail/schedule.py).
WORKER_JOBS = ("ingest arxiv", "catch-up", "ingest hf", "index", "channels", "outbox",
               "digests")


@click.command()
@common_options
@click.option("--once", is_flag=True, help="Run one cycle now and exit.")
@click.option("--skip-ingest", is_flag=True, help="Do not fetch new papers (digests only).")
@click.pass_context
def worker(ctx: click.Context, db_url: str | None, config_path: str | None, once: bool,
           skip_ingest: bool) -> None:
    """Ingest (arXiv listings, missed listing days, Hugging Face daily papers), index, post
    to channels and send digests on arXiv's announcement timetable (Sun-Thu 20:00
    US/Eastern, plus a delay); no digest goes out for a day without new papers. Each job's
    last success, last error and next run are kept for `paperfeed status`."""
    settings = settings_from(db_url, config_path)
    with worker_output(settings):
        _run(ctx, settings, config_path, once=once, skip_ingest=skip_ingest)


def _run(ctx: click.Context, settings: Settings, config_path: str | None, *, once: bool,
         skip_ingest: bool) -> None:
    from paperfeed.mail.schedule import Step, run_worker

    echo = click.echo
    engine = engine_for(settings)
    options = {"db_url": settings.database_url, "config_path": config_path}
    steps: list[Step] = [] if skip_ingest else [
        ("ingest arxiv", lambda: _reported(read_arxiv_listings(settings, engine))),
        ("catch-up", lambda: _catch_up(settings, engine, echo)),
        ("ingest hf", lambda: _reported(_hf_since_last_success(settings, engine))),
    ]
    steps.append(("index", lambda: ctx.invoke(index_cmd, **options)))
    steps.append(("channels", lambda: _post_channels(settings, engine, echo)))
    run_worker(settings, engine, steps, once=once, echo=echo)


@contextmanager
def worker_output(settings: Settings) -> Iterator[None]:
    """With log_format=json, everything the worker prints becomes a JSON log record of the
    ``paperfeed.worker`` logger (stdout lines at info, stderr lines at warning) and no
    progress bar is drawn; otherwise the worker prints plain lines."""
    if settings.log_format != "json":
        yield
        return
    import logging.config

    from paperfeed.log_format import logging_config

    logging.config.dictConfig(logging_config())  # its handler keeps the real stderr
    progress_shown["value"] = False
    log = logging.getLogger("paperfeed.worker")
    try:
        with redirect_stdout(LogLines(log, logging.INFO)), \
                redirect_stderr(LogLines(log, logging.WARNING)):
            yield
    finally:
        progress_shown["value"] = True


class LogLines(io.TextIOBase):
    """A text stream that logs each complete line it is given."""

    def __init__(self, log: logging.Logger, level: int) -> None:
        super().__init__()
        self.log, self.level, self.pending = log, level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line.strip():
                self.log.log(self.level, line.rstrip())
        return len(text)


def _reported(summary: ImportSummary) -> ImportSummary:
    print_summary(summary)
    return summary


def _catch_up(settings: Settings, engine: Engine, echo: Callable[[str], None]) -> ImportSummary:
    """The missed listing days of the last worker_catch_up_days listing days."""
    from paperfeed.ingest.catch_up import catch_up_listings

    with _upstream_client(settings) as client, progress_bar("missed listing days") as update:
        run = catch_up_listings(
            engine, client, api_url=settings.arxiv_api_url, categories=settings.categories,
            now=dt.datetime.now(dt.UTC), max_days=settings.worker_catch_up_days,
            progress=update,
        )
    days = sorted({day for _, day in run.caught_up})
    echo(f"worker: catch-up before the listing of {run.newest_day}: "
         + (", ".join(str(day) for day in days) or "nothing missed")
         + (f"; {len(run.unfinished)} unfinished (next cycle continues)"
            if run.unfinished else ""))
    return _reported(run.summary)


def _hf_since_last_success(settings: Settings, engine: Engine) -> ImportSummary:
    """Hugging Face daily papers from the day of the last successful run (at most
    worker_catch_up_days back) to today (UTC)."""
    from paperfeed.store.jobs import load_jobs

    today = dt.datetime.now(dt.UTC).date()
    with engine.connect() as conn:
        last = {job.name: job.last_success_at for job in load_jobs(conn)}.get("ingest hf")
    oldest = today - dt.timedelta(days=max(settings.worker_catch_up_days, 0))
    first = max(last.date(), oldest) if last else today
    return read_hf_days(settings, engine, min(first, today), today)


def _post_channels(settings: Settings, engine: Engine, echo: Callable[[str], None]) -> None:
    """The worker's channel step: the newest listing day to every due channel."""
    from paperfeed.mail.channels import post_channels
    from paperfeed.rank.listings import today

    with engine.connect() as conn:
        day = today(conn)
    if day is not None:
        report = post_channels(engine, settings, day)
        echo(f"worker: channels {report.period}: {len(report.sent)} posted")


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as a JSON array.")
def status(db_url: str | None, config_path: str | None, as_json: bool) -> None:
    """Each worker job's last success, last error and next run."""
    from paperfeed.store.jobs import JobStatus, load_jobs

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    with engine.connect() as conn:
        known = {job.name: job for job in load_jobs(conn)}
    jobs = [known.pop(name, JobStatus(name)) for name in WORKER_JOBS] + list(known.values())
    if as_json:
        click.echo(json.dumps([job.as_dict() for job in jobs], indent=2))
        return
    now = dt.datetime.now(dt.UTC)
    width = max(len(job.name) for job in jobs)
    for job in jobs:
        next_run = _when(job.next_run_at)
        if job.next_run_at and job.next_run_at < now:
            next_run += " (overdue: is the worker running?)"
        click.echo(f"{job.name:<{width}}  last success {_when(job.last_success_at)}  "
                   f"next run {next_run}")
        if job.last_error_at:
            click.echo(f"{'':<{width}}  last error {_when(job.last_error_at)}: "
                       f"{job.last_error}")


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "never"
