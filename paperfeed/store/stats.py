"""Counts for `paperfeed stats`: papers by source, category and announcement day."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, desc, func, select

from .schema import authors, paper_categories, papers


def collect_stats(conn: Connection, *, top: int = 20, days: int = 30) -> dict[str, Any]:
    """Totals and breakdowns; ``papers`` is the number of papers."""
    total = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    by_source: dict[str, int] = dict(
        conn.execute(
            select(papers.c.source, func.count())
            .group_by(papers.c.source)
            .order_by(desc(func.count()))
        ).tuples().all()
    )
    by_category: dict[str, int] = dict(
        conn.execute(
            select(paper_categories.c.category, func.count())
            .group_by(paper_categories.c.category)
            .order_by(desc(func.count()), paper_categories.c.category)
            .limit(top)
        ).tuples().all()
    )
    by_day = {
        str(day): n
        for day, n in conn.execute(
            select(papers.c.announced_on, func.count())
            .where(papers.c.announced_on.is_not(None))
            .group_by(papers.c.announced_on)
            .order_by(desc(papers.c.announced_on))
            .limit(days)
        ).all()
    }
    return {
        "papers": int(total),
        "authors": int(conn.execute(select(func.count()).select_from(authors)).scalar_one()),
        "by_source": by_source,
        "by_category": by_category,
        "by_day": by_day,
        "newest_day": max(by_day) if by_day else None,
    }
