"""arXiv's announcement calendar: when listings appear and which submissions each holds.

arXiv announces new papers Sunday to Thursday at 20:00 US/Eastern; each announcement is
the listing dated the next weekday (Sunday evening -> Monday's listing). A listing holds
the submissions received between two 14:00 US/Eastern cut-offs on consecutive weekdays:
Tuesday's listing those from Friday 14:00 to Monday 14:00. arXiv's holidays (a handful of
days a year, announced on its site, not machine-readable) are not modelled: on a holiday
the window of the missing day is announced with the next day's.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_WEEKDAYS = {6, 0, 1, 2, 3}  # Sunday .. Thursday (Monday = 0)
ANNOUNCE_TIME = dt.time(20, 0)
CUTOFF_TIME = dt.time(14, 0)


def listing_day(announced_at: dt.datetime) -> dt.date:
    """The listing date of an announcement: the next weekday (Thursday evening -> Friday)."""
    return next_weekday(announced_at.astimezone(EASTERN).date())


def next_weekday(day: dt.date) -> dt.date:
    """The first Monday-to-Friday day after ``day``."""
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def previous_weekday(day: dt.date) -> dt.date:
    """The last Monday-to-Friday day before ``day``."""
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def latest_listing_day(now: dt.datetime) -> dt.date:
    """The listing of the newest announcement at or before ``now`` (aware datetime)."""
    local = now.astimezone(EASTERN)
    for offset in range(9):
        day = local.date() - dt.timedelta(days=offset)
        if day.weekday() in ANNOUNCE_WEEKDAYS and \
                dt.datetime.combine(day, ANNOUNCE_TIME, EASTERN) <= now:
            return listing_day(dt.datetime.combine(day, ANNOUNCE_TIME, EASTERN))
    raise AssertionError("unreachable: an announcement happens every week")


def listing_days_before(day: dt.date, count: int) -> list[dt.date]:
    """The ``count`` listing days (weekdays) before ``day``, oldest first."""
    days: list[dt.date] = []
    while len(days) < count:
        day = previous_weekday(day)
        days.append(day)
    return days[::-1]


def submission_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the submissions announced in the listing of ``day`` (a
    weekday): from the cut-off two weekdays before to the cut-off on the weekday before."""
    end_day = previous_weekday(day)
    start_day = previous_weekday(end_day)
    start = dt.datetime.combine(start_day, CUTOFF_TIME, EASTERN).astimezone(dt.UTC)
    end = dt.datetime.combine(end_day, CUTOFF_TIME, EASTERN).astimezone(dt.UTC)
    return start, end
