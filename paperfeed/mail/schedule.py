"""The worker's timetable: arXiv announces new papers Sunday to Thursday at 20:00
US/Eastern (the listings dated Monday to Friday); nothing on Friday and Saturday evenings
or on arXiv holidays. The worker wakes ``worker_announce_delay_minutes`` after each
announcement, ingests, indexes, and sends the daily digests of the newest day — which does
nothing when no new day arrived (the day's run is already finished) — and the weekly
digests after the week's last listing day. Every step is a job whose last start, success,
error and next run land in the worker_jobs table (store/jobs.py) for `paperfeed status`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.ingest.arxiv_calendar import (
    ANNOUNCE_TIME,
    ANNOUNCE_WEEKDAYS,
    EASTERN,
    listing_day,
)

from .mailer import Mailer


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


def weekly_periods_due(newest: dt.date) -> list[dt.date]:
    """Days whose ISO week's weekly digest may be due: this week once its Friday listing is
    in, and the previous week (in case its Friday was a holiday)."""
    days = [newest - dt.timedelta(days=newest.weekday() + 1)]
    if newest.weekday() >= 4:
        days.append(newest)
    return days


# A step the caller runs before the digests (e.g. ingest, index): (name, callable). A step
# fails by raising, by exiting non-zero, or by returning a summary whose ``errors`` say so.
Step = tuple[str, Callable[[], object]]
OWN_JOBS = ("outbox", "digests")  # the jobs every cycle runs after the caller's steps
log = logging.getLogger(__name__)


def step_error(step: Callable[[], object]) -> str | None:
    """Run one step; None when it succeeded, else what went wrong (never raises)."""
    try:
        result = step()
    except SystemExit as exc:
        return f"exited with {exc.code}" if exc.code else None
    except Exception as exc:  # noqa: BLE001 - one failed step must not stop the digests
        return f"{type(exc).__name__}: {exc}"
    errors = getattr(result, "errors", None)
    if errors:
        shown = "; ".join(str(e) for e in errors[:3])
        return shown + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
    return None


def run_job(engine: Engine, name: str, step: Callable[[], object],
            echo: Callable[[str], None]) -> bool:
    """Run one job and record how it went in the worker_jobs table; a failed job is
    reported and does not stop the others. True when it succeeded."""
    from paperfeed.store.database import write_transaction
    from paperfeed.store.jobs import record_run

    started = dt.datetime.now(dt.UTC)
    error = step_error(step)
    if error is not None:
        echo(f"worker: `{name}` failed: {error}")
    try:
        with write_transaction(engine) as conn:
            record_run(conn, name, started_at=started, finished_at=dt.datetime.now(dt.UTC),
                       error=error)
    except Exception:  # noqa: BLE001 - the database may be what failed; keep working
        log.exception("worker: could not record the run of %s", name)
    return error is None


def plan_next_run(engine: Engine, steps: Sequence[Step], at: dt.datetime | None) -> None:
    """Record ``at`` as every job's next run (None: no run planned, e.g. ``--once``)."""
    from paperfeed.store.database import write_transaction
    from paperfeed.store.jobs import clear_next_run, set_next_run

    try:
        with write_transaction(engine) as conn:
            if at is None:
                clear_next_run(conn)
            else:
                set_next_run(conn, [name for name, _ in steps] + list(OWN_JOBS), at)
    except Exception:  # noqa: BLE001 - status bookkeeping must not stop the worker
        log.exception("worker: could not record the next run")


def run_cycle(settings: Settings, engine: Engine, steps: Sequence[Step], *,
              echo: Callable[[str], None]) -> list[dict[str, object]]:
    """One worker cycle: the given steps (ingest, index, ... in order), the outbox (with the
    day's notification digests), then the daily and weekly digests of the newest day, each
    recorded as a job. Returns the digest reports as dicts."""
    from .messages import default_mailer

    for name, step in steps:
        run_job(engine, name, step, echo)
    mailer = default_mailer(settings)
    run_job(engine, "outbox", lambda: flush_outbox(engine, settings, mailer), echo)
    reports: list[dict[str, object]] = []
    run_job(engine, "digests",
            lambda: reports.extend(send_newest_digests(settings, engine, mailer, echo)), echo)
    return reports


def flush_outbox(engine: Engine, settings: Settings, mailer: Mailer) -> int:
    """The "outbox" job: queue today's notification digests (people who chose one email a
    day; at most one each per day), then deliver everything pending. Returns how many
    messages were delivered."""
    from .notifying import send_notification_digests
    from .outbox import deliver_outbox

    send_notification_digests(engine, settings, dt.datetime.now(dt.UTC).date())
    return deliver_outbox(engine, settings, mailer)


def send_newest_digests(settings: Settings, engine: Engine, mailer: Mailer,
                        echo: Callable[[str], None]) -> list[dict[str, object]]:
    """The daily and weekly digests of the newest day; their reports as dicts."""
    from paperfeed.index.embedder import load_embedder

    from .delivery import send_digests
    from .digest import newest_day

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
    with ``once``. Between cycles, the outbox is flushed every ``poll_seconds``. Before it
    sleeps, the worker records the next cycle as every job's next run."""
    from .messages import default_mailer
    from .outbox import deliver_outbox

    if once:
        plan_next_run(engine, steps, None)
        run_cycle(settings, engine, steps, echo=echo)
        return
    while True:
        now = dt.datetime.now(dt.UTC)
        at = next_announcement(now, settings.worker_announce_delay_minutes)
        plan_next_run(engine, steps, at)
        echo(f"worker: next cycle at {at.isoformat()} (listing of {listing_day(at)})")
        while (remaining := (at - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
            time.sleep(min(poll_seconds, remaining))
            deliver_outbox(engine, settings, default_mailer(settings))
        run_cycle(settings, engine, steps, echo=echo)
