"""Events: the dated signs of attention a paper receives, read from the tables that hold them.

No table of its own: every event already sits in a row with a time.

- ``vote``, ``comment`` (visible ones), ``save`` (a paper added to any collection) and
  ``submission``: one event each, on the UTC day of the row's ``created_at`` / ``added_at``.
- ``hf_upvotes``, ``hf_comments`` and ``github_stars``: the counts Hugging Face's daily-papers
  listing reported (``paper_signals`` of source ``hf``), dated on the day the paper was featured
  there (``observed_on``); ``count`` is the reported number.

Trending (:mod:`paperfeed.rank.trending`) weighs and decays them; this module only reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select

from paperfeed.days import midnight

from .community_schema import collection_items, comments, submissions, votes
from .schema import paper_signals

#: paper_signals kinds (source ``hf``) that are events, and the event kind each one becomes.
SIGNAL_EVENTS = {"upvotes": "hf_upvotes", "comments": "hf_comments", "github_stars": "github_stars"}


@dataclass(frozen=True, slots=True)
class PaperEvent:
    """``count`` events of ``kind`` on ``paper_id``, dated ``day`` (UTC)."""

    paper_id: int
    kind: str
    day: dt.date
    count: int


def paper_events(
    conn: Connection,
    paper_ids: Select[Any],
    first_day: dt.date,
    last_day: dt.date | None = None,
) -> list[PaperEvent]:
    """Every event on the papers ``paper_ids`` selects, dated ``first_day`` .. ``last_day``
    (both included; ``None``: no upper bound), local ones counted per paper and day.

    ``paper_ids`` is a one-column SELECT of paper ids (used as a subquery). Reads only.
    """
    start = midnight(first_day)
    stop = midnight(last_day + dt.timedelta(days=1)) if last_day else None
    local = [
        ("vote", votes.c.paper_id, votes.c.created_at, None),
        ("comment", comments.c.paper_id, comments.c.created_at, comments.c.hidden.is_(False)),
        ("save", collection_items.c.paper_id, collection_items.c.added_at, None),
        ("submission", submissions.c.paper_id, submissions.c.created_at, None),
    ]
    counted: dict[tuple[int, str, dt.date], int] = {}
    for kind, paper_col, time_col, extra in local:
        query = select(paper_col, time_col).where(paper_col.in_(paper_ids), time_col >= start)
        if stop is not None:
            query = query.where(time_col < stop)
        if extra is not None:
            query = query.where(extra)
        for paper_id, at in conn.execute(query):
            key = (paper_id, kind, at.astimezone(dt.UTC).date())
            counted[key] = counted.get(key, 0) + 1
    events = [PaperEvent(pid, kind, day, n) for (pid, kind, day), n in counted.items()]
    signals = select(
        paper_signals.c.paper_id, paper_signals.c.kind, paper_signals.c.value,
        paper_signals.c.observed_on,
    ).where(
        paper_signals.c.paper_id.in_(paper_ids),
        paper_signals.c.source == "hf",
        paper_signals.c.kind.in_(list(SIGNAL_EVENTS)),
        paper_signals.c.observed_on >= first_day,
    )
    if last_day is not None:
        signals = signals.where(paper_signals.c.observed_on <= last_day)
    for paper_id, kind, value, observed_on in conn.execute(signals):
        count = _count(value)
        if count > 0:
            events.append(PaperEvent(paper_id, SIGNAL_EVENTS[kind], observed_on, count))
    return events


def _count(value: str) -> int:
    """A stored signal value as a count; 0 for anything that is not a whole number."""
    text = str(value).strip()
    return int(text) if text.isdigit() else 0


__all__ = ["SIGNAL_EVENTS", "PaperEvent", "paper_events"]
