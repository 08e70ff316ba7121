"""Catching up the arXiv listing days a stopped worker missed.

The daily RSS listing only ever shows the newest announcement, so after downtime the
listings of the days in between are gone from it. For each of the last ``max_days``
listing days before the newest one (see arxiv_calendar.py) and each category, a day is
*missed* when no paper of that category is stored with that announcement day (papers
first seen on Hugging Face do not count: their day is only an upper bound) and the day was
not caught up before. A missed day is read from the arXiv API by its submission window
(``submittedDate`` between the two cut-offs that bound the listing) and its papers are
stored with that listing day as their announcement day.

Resumable: each page lands with its checkpoint (source 'catch-up', key '<category>
<day>', cursor = offset reached), so a run stopped at any point continues at the first
page that did not land; a finished day keeps the cursor 'done' (until it falls out of the
window), so it is never asked again. Bounded: at most ``max_days`` listing days back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from paperfeed.models import ImportSummary
from paperfeed.store.checkpoints import DONE, clear_checkpoint, get_checkpoint, set_checkpoint
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import listed_on
from paperfeed.store.schema import ingest_checkpoints

from .arxiv_api import PAGE_SIZE, page_through_query
from .arxiv_calendar import latest_listing_day, listing_days_before, submission_window
from .hf_daily import SOURCE as HF_SOURCE
from .pages import Progress
from .upstream import Upstream

SOURCE = "catch-up"


@dataclass
class CatchUpRun:
    """What one catch-up did: the (category, day) pairs read to the end, the ones that
    stopped on an upstream error, and the papers' counts."""

    newest_day: dt.date
    caught_up: list[tuple[str, dt.date]] = field(default_factory=list)
    unfinished: list[tuple[str, dt.date]] = field(default_factory=list)
    summary: ImportSummary = field(default_factory=ImportSummary)


def catch_up_query(category: str, day: dt.date) -> str:
    """The API search for the submissions announced in ``category``'s listing of ``day``
    (submittedDate is in UTC to the minute, both ends inclusive)."""
    start, end = submission_window(day)
    last = end - dt.timedelta(minutes=1)
    return f"cat:{category} AND submittedDate:[{start:%Y%m%d%H%M} TO {last:%Y%m%d%H%M}]"


def checkpoint_key(category: str, day: dt.date) -> str:
    return f"{category} {day.isoformat()}"


def missed_days(engine: Engine, categories: Sequence[str], newest: dt.date,
                max_days: int) -> list[tuple[str, dt.date]]:
    """(category, day) pairs to read, oldest day first: the listing days among the
    ``max_days`` before ``newest`` with an unfinished catch-up, or with no stored paper
    announced that day (and no finished catch-up)."""
    todo = []
    with engine.connect() as conn:
        for day in listing_days_before(newest, max_days) if max_days > 0 else []:
            for category in categories:
                cursor = get_checkpoint(conn, SOURCE, checkpoint_key(category, day))
                if cursor == DONE:
                    continue
                if cursor is not None or not listed_on(conn, category, day,
                                                       ignore_sources=[HF_SOURCE]):
                    todo.append((category, day))
    return todo


def forget_old_days(engine: Engine, oldest_kept: dt.date) -> None:
    """Drop the catch-up checkpoints of days before ``oldest_kept`` (out of the window)."""
    with write_transaction(engine) as conn:
        keys = conn.execute(select(ingest_checkpoints.c.key).where(
            ingest_checkpoints.c.source == SOURCE)).scalars().all()
        for key in keys:
            day = key.rpartition(" ")[2]
            if day < oldest_kept.isoformat():
                clear_checkpoint(conn, SOURCE, key)


def catch_up_listings(
    engine: Engine,
    client: Upstream,
    *,
    api_url: str,
    categories: Sequence[str],
    now: dt.datetime,
    max_days: int,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> CatchUpRun:
    """Read every missed listing day (see :func:`missed_days`) before the newest
    announcement at ``now`` from the arXiv API at ``api_url``.

    Output: a CatchUpRun. Side effects: papers committed page by page with announcement
    day = their listing day; checkpoints as in the module docstring. An upstream failure
    stops that (category, day) only, with the error in the summary; a rerun continues.
    """
    newest = latest_listing_day(now)
    run = CatchUpRun(newest_day=newest)
    window = listing_days_before(newest, max_days) if max_days > 0 else []
    if window:
        forget_old_days(engine, window[0])
    todo = missed_days(engine, categories, newest, max_days)
    for number, (category, day) in enumerate(todo, start=1):
        key = checkpoint_key(category, day)
        summary, finished = page_through_query(
            engine, client, api_url=api_url, query=catch_up_query(category, day),
            source=SOURCE, key=key, label=f"{category} listing of {day}",
            page_size=page_size, announced_on=day,
        )
        run.summary.add(summary)
        if finished:
            with write_transaction(engine) as conn:
                set_checkpoint(conn, SOURCE, key, DONE)
            run.caught_up.append((category, day))
        else:
            run.unfinished.append((category, day))
        if progress:
            progress(number, len(todo))
    return run
