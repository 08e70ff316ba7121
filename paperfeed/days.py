"""Listing days as times: the one place that says a day starts at midnight UTC."""

from __future__ import annotations

import datetime as dt


def midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in UTC (how a listing or feed day becomes a time)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
