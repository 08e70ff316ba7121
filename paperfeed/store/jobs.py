"""How the worker's jobs went: last start, success, error and next run, per job name.

The worker writes a row per job after each run (``record_run``) and the time of its next
cycle before it sleeps (``set_next_run``); `paperfeed status` and ``/metrics`` read them
(``load_jobs``). Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from .database import dialect
from .job_schema import worker_jobs

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class JobStatus:
    """One job as `paperfeed status` shows it (times are aware UTC datetimes or None)."""

    name: str
    last_started_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_error_at: dt.datetime | None = None
    last_error: str = ""
    last_seconds: float | None = None
    next_run_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings (or null)."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "last_started_at": iso(self.last_started_at),
            "last_success_at": iso(self.last_success_at),
            "last_error_at": iso(self.last_error_at),
            "last_error": self.last_error or None,
            "last_seconds": self.last_seconds,
            "next_run_at": iso(self.next_run_at),
        }


def record_run(conn: Connection, name: str, *, started_at: dt.datetime,
               finished_at: dt.datetime, error: str | None = None) -> None:
    """Record one run of job ``name``: a success (``error`` None) sets last_success_at, a
    failure sets last_error_at and last_error; the other side keeps its previous value."""
    values: dict[str, Any] = {
        "name": name,
        "last_started_at": started_at,
        "last_seconds": max((finished_at - started_at).total_seconds(), 0.0),
    }
    if error is None:
        values["last_success_at"] = finished_at
    else:
        values["last_error_at"] = finished_at
        values["last_error"] = error[:MAX_ERROR_CHARS]
    stmt = dialect(conn).insert(worker_jobs).values(**values)
    changed = {key: getattr(stmt.excluded, key) for key in values if key != "name"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=changed))


def set_next_run(conn: Connection, names: Iterable[str], at: dt.datetime) -> None:
    """Say when the worker will next run each of ``names`` (rows are created as needed)."""
    for name in names:
        stmt = dialect(conn).insert(worker_jobs).values(name=name, next_run_at=at)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["name"], set_={"next_run_at": stmt.excluded.next_run_at}))


def clear_next_run(conn: Connection) -> None:
    """Forget every planned run (the worker stopped, or runs once)."""
    conn.execute(update(worker_jobs).values(next_run_at=None))


def load_jobs(conn: Connection) -> list[JobStatus]:
    """Every job the worker has run or planned, by name."""
    rows = conn.execute(select(worker_jobs).order_by(worker_jobs.c.name)).mappings()
    return [JobStatus(**dict(row)) for row in rows]
