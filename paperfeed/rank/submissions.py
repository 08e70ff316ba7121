"""Submitting a paper to today's feed: the one path the submit page and the API share.

Known papers join at once; unknown ones are fetched from the arXiv API first
(:func:`paperfeed.ingest.arxiv_api.fetch_from_arxiv`) and stored. The rules (one
submission per paper, at most ``settings.submission_max_age_days`` old) live in
store/submissions.py.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, select

from paperfeed.config import Settings
from paperfeed.ingest.arxiv_api import FetchFailed, fetch_from_arxiv
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers
from paperfeed.store.submissions import (
    SubmissionRefused,
    check_age,
    check_submittable,
    record_submission,
)

from .listings import today

__all__ = ["FetchFailed", "NotOnArxiv", "SubmissionRefused", "submission_day", "submit_paper"]


class NotOnArxiv(LookupError):
    """arXiv answered and does not know the paper."""


def submission_day(conn: Connection) -> dt.date:
    """The feed day a submission joins now: the site's "today" (newest announcement day),
    or the calendar date on an empty site. Read-only."""
    return today(conn) or dt.date.today()


def submit_paper(engine: Engine, settings: Settings, user_id: int, arxiv_id: str) -> int:
    """Put ``arxiv_id`` (a versionless arXiv id) on today's feed as ``user_id``'s
    submission; returns the paper id.

    Side effects: an unknown paper is fetched from arXiv (network, outside any
    transaction) and upserted; the submission is recorded and committed in one write
    transaction. Raises SubmissionRefused (already submitted, or too old: the message is
    safe to show), NotOnArxiv, or FetchFailed (arXiv could not be reached).
    """
    max_age = settings.submission_max_age_days
    with engine.connect() as conn:
        day = submission_day(conn)
        known = check_submittable(conn, arxiv_id, today=day, max_age_days=max_age)
    fetched = None
    if known is None:
        fetched = fetch_from_arxiv(settings, arxiv_id)
        if fetched is None:
            raise NotOnArxiv(f"arXiv has no paper {arxiv_id}")
    with write_transaction(engine) as conn:
        if fetched is not None:
            check_age(fetched.announced_on, fetched.submitted_at, today=day,
                      max_age_days=max_age)
            # Someone may have added it meanwhile: check again inside the transaction.
            if check_submittable(conn, arxiv_id, today=day, max_age_days=max_age) is None:
                upsert_papers(conn, [fetched])
            known = conn.execute(
                select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)
            ).scalar_one()
        assert known is not None
        record_submission(conn, known, user_id, day)
        return known
