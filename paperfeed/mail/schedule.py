"""The worker's timetable: arXiv announces new papers Sunday to Thursday at 20:00
US/Eastern (the listings dated Monday to Friday); nothing on Friday and Saturday evenings
or on arXiv holidays. The worker wakes ``worker_announce_delay_minutes`` after each
announcement, ingests, indexes, and sends the daily digests of the newest day — which does
nothing when no new day arrived (the day's run is already finished) — and the weekly
digests after the week's last listing day.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paperfeed.config import Settings

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_WEEKDAYS = {6, 0, 1, 2, 3}  # Sunday .. Thursday (Monday = 0)
ANNOUNCE_TIME = dt.time(20, 0)


def next_announcement(now: dt.datetime, delay_minutes: int = 0) -> dt.datetime:
    """The first announcement time (+ delay) strictly after ``now`` (aware datetimes)."""
    local = now.astimezone(EASTERN)
    for offset in range(9):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in ANNOUNCE_WEEKDAYS:
            continue
        at = dt.datetime.combine(day, ANNOUNCE_TIME, EASTERN) + dt.timedelta(minutes=delay_minutes)
        if at > now:
            return at
    raise AssertionError("unreachable: an announcement happens every week")


def listing_day(announced_at: dt.datetime) -> dt.date:
    """The listing date of an announcement: the next weekday (Thursday evening -> Friday)."""
    day = announced_at.astimezone(EASTERN).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def weekly_periods_due(newest: dt.date) -> list[dt.date]:
    """Days whose ISO week's weekly digest may be due: this week once its Friday listing is
    in, and the previous week (in case its Friday was a holiday)."""
    days = [newest - dt.timedelta(days=newest.weekday() + 1)]
    if newest.weekday() >= 4:
        days.append(newest)
    return days


# A step the caller runs before the digests (e.g. ingest, index): (name, callable).
Step = tuple[str, Callable[[], object]]


def _run_step(name: str, step: Callable[[], object], echo: Callable[[str], None]) -> None:
    """Run one step; a failed step is reported and does not stop the digests."""
    try:
        step()
    except SystemExit as exc:
        if exc.code:
            echo(f"worker: `{name}` exited with {exc.code}")
    except Exception as exc:  # noqa: BLE001 - one failed step must not stop the digests
        echo(f"worker: `{name}` failed: {exc}")


def run_cycle(settings: Settings, engine: Engine, steps: Sequence[Step], *,
              echo: Callable[[str], None]) -> list[dict[str, object]]:
    """One worker cycle: the given steps (ingest, index, ... in order), the outbox, then the
    daily and weekly digests of the newest day. Returns the digest reports as dicts."""
    from paperfeed.index.embedder import load_embedder

    from .delivery import send_digests
    from .digest import newest_day
    from .messages import default_mailer
    from .outbox import deliver_outbox

    for name, step in steps:
        _run_step(name, step, echo)
    mailer = default_mailer(settings)
    deliver_outbox(engine, settings, mailer)
    with engine.connect() as conn:
        newest = newest_day(conn)
    if newest is None:
        echo("worker: no papers yet")
        return []
    embedder = load_embedder(settings)
    reports = [send_digests(engine, settings, mailer, embedder, frequency="daily", day=newest)]
    for day in weekly_periods_due(newest):
        reports.append(
            send_digests(engine, settings, mailer, embedder, frequency="weekly", day=day)
        )
    for report in reports:
        echo(f"worker: {report.period}: {report.sent} sent"
             + (f" ({report.skipped})" if report.skipped else ""))
    return [r.as_dict() for r in reports]


def run_worker(settings: Settings, engine: Engine, steps: Sequence[Step], *, once: bool = False,
               echo: Callable[[str], None] = print, poll_seconds: float = 60.0) -> None:
    """Run cycles (see :func:`run_cycle`) at each announcement (+ delay), forever, or one now
    with ``once``. Between cycles, the outbox is flushed every ``poll_seconds``."""
    from .messages import default_mailer
    from .outbox import deliver_outbox

    if once:
        run_cycle(settings, engine, steps, echo=echo)
        return
    while True:
        now = dt.datetime.now(dt.UTC)
        at = next_announcement(now, settings.worker_announce_delay_minutes)
        echo(f"worker: next cycle at {at.isoformat()} (listing of {listing_day(at)})")
        while (remaining := (at - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
            time.sleep(min(poll_seconds, remaining))
            deliver_outbox(engine, settings, default_mailer(settings))
        run_cycle(settings, engine, steps, echo=echo)
