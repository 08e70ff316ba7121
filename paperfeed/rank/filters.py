"""Search filters (category, date range, author, never hidden) as SQL conditions on papers.

Both arms of hybrid search apply the same conditions, so a filter never lets a paper in
through the back door of the other arm. The SQL is dialect-neutral SQLAlchemy Core.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from paperfeed.days import midnight
from paperfeed.store.schema import authors, paper_authors, paper_categories, papers


@dataclass(slots=True)
class SearchFilters:
    """What results must satisfy. Lists are OR within categories, AND across authors."""

    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)  # folded words, e.g. "yann lecun"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    exclude_paper_ids: list[int] = field(default_factory=list)

    @property
    def narrowing(self) -> bool:
        """True when the filters can exclude visible papers (beyond hidden ones)."""
        return bool(self.categories or self.authors or self.date_from or self.date_to
                    or self.exclude_paper_ids)


def paper_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """WHERE conditions on ``papers`` for the filters, hidden papers always excluded."""
    conditions: list[ColumnElement[bool]] = [papers.c.hidden == false()]
    if filters.categories:
        conditions.append(
            exists(
                select(paper_categories.c.paper_id).where(
                    paper_categories.c.paper_id == papers.c.id,
                    paper_categories.c.category.in_(filters.categories),
                )
            )
        )
    for name in filters.authors:
        pattern = "%" + "%".join(_escape_like(w) for w in name.split()) + "%"
        conditions.append(
            exists(
                select(paper_authors.c.paper_id)
                .join(authors, authors.c.id == paper_authors.c.author_id)
                .where(
                    paper_authors.c.paper_id == papers.c.id,
                    authors.c.name_key.like(pattern, escape="\\"),
                )
            )
        )
    if filters.date_from or filters.date_to:
        conditions.append(_date_condition(filters.date_from, filters.date_to))
    if filters.exclude_paper_ids:
        conditions.append(papers.c.id.not_in(filters.exclude_paper_ids))
    return conditions


def _date_condition(date_from: dt.date | None, date_to: dt.date | None) -> ColumnElement[bool]:
    """The announcement day in range; papers never announced fall back to submission time."""
    announced: list[ColumnElement[bool]] = [papers.c.announced_on.is_not(None)]
    submitted: list[ColumnElement[bool]] = [papers.c.announced_on.is_(None)]
    if date_from:
        announced.append(papers.c.announced_on >= date_from)
        submitted.append(papers.c.submitted_at >= midnight(date_from))
    if date_to:
        announced.append(papers.c.announced_on <= date_to)
        if date_to < dt.date.max:
            submitted.append(papers.c.submitted_at < midnight(date_to + dt.timedelta(days=1)))
    return or_(and_(*announced), and_(*submitted))


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
