"""Periods: a day, an ISO week or a month, parsed from ``date`` / ``week`` / ``month`` values.

Pure date arithmetic, no database: :func:`parse_period` turns the query parameters of the
feeds into a :class:`Period` (both ends included) or raises :class:`InvalidPeriod`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

PeriodKind = Literal["day", "week", "month"]

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidPeriod(ValueError):
    """A ``date`` / ``week`` / ``month`` value that names no real period."""


@dataclass(frozen=True, slots=True)
class Period:
    """A span of days, both ends included, named by ``key`` (2025-03-04, 2025-W10, 2025-03)."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            return f"Week {self.key[-2:]} of {self.start.isocalendar()[0]} " \
                f"({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%B %Y")

    def shifted(self, steps: int) -> Period:
        """The period ``steps`` periods later (negative: earlier), same kind."""
        if self.kind == "day":
            return day_period(self.start + dt.timedelta(days=steps))
        if self.kind == "week":
            return week_period_of(self.start + dt.timedelta(weeks=steps))
        month0 = self.start.year * 12 + self.start.month - 1 + steps
        return month_period(f"{month0 // 12:04d}-{month0 % 12 + 1:02d}")


def day_period(day: dt.date) -> Period:
    return Period("day", day, day)


def week_period_of(day: dt.date) -> Period:
    monday = day - dt.timedelta(days=day.weekday())
    return Period("week", monday, monday + dt.timedelta(days=6))


def week_period(key: str) -> Period:
    """'2025-W10' -> Monday..Sunday of that ISO week. Raises InvalidPeriod."""
    m = _WEEK.match(key.strip())
    if not m or not 1 <= int(m.group(1)) <= 9998:
        raise InvalidPeriod(f"week must look like 2025-W10, not {key!r}")
    try:
        monday = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise InvalidPeriod(f"no such ISO week: {key!r}") from exc
    return week_period_of(monday)


def month_period(key: str) -> Period:
    """'2025-03' -> the first..last day of March 2025. Raises InvalidPeriod."""
    m = _MONTH.match(key.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1 <= int(m.group(1)) <= 9998:
        raise InvalidPeriod(f"month must look like 2025-03, not {key!r}")
    year, month = int(m.group(1)), int(m.group(2))
    first = dt.date(year, month, 1)
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return Period("month", first, last)


def parse_day(value: str) -> dt.date:
    """'2025-03-04' -> date. Raises InvalidPeriod."""
    if not _DAY.match(value.strip()):
        raise InvalidPeriod(f"date must look like 2025-03-04, not {value!r}")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidPeriod(f"no such day: {value!r}") from exc
    if not 1 <= day.year <= 9998:
        raise InvalidPeriod(f"no papers in the year {day.year}")
    return day


def parse_period(
    *, date: str | None = None, week: str | None = None, month: str | None = None
) -> Period | None:
    """The period named by exactly one of date / week / month; None when none is given.

    Raises InvalidPeriod for malformed or impossible values or when more than one is given.
    """
    given = [v for v in (date, week, month) if v]
    if len(given) > 1:
        raise InvalidPeriod("give only one of date, week or month")
    if date:
        return day_period(parse_day(date))
    if week:
        return week_period(week)
    if month:
        return month_period(month)
    return None


__all__ = [
    "InvalidPeriod",
    "Period",
    "PeriodKind",
    "day_period",
    "month_period",
    "parse_day",
    "parse_period",
    "week_period",
    "week_period_of",
]
