"""Read state in the pages: a signed-in user's opened papers and visits are recorded
(store/seen.py); the listings can hide what they have seen ("?hide_seen=1") and the
daily page marks what is new since their last visit. Anonymous visitors store nothing.
"""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.seen import mark_seen, record_visit, seen_paper_ids

from ..deps import get_engine, load_user
from ..security import SESSION_COOKIE


def wants_unseen(request: Request) -> bool:
    """Whether the listing was asked to hide seen papers."""
    return request.query_params.get("hide_seen") == "1"


async def note_visit(request: Request) -> dt.datetime | None:
    """Record a signed-in user's look at the daily page; when their previous visit began."""
    if SESSION_COOKIE not in request.cookies:
        return None

    def record() -> dt.datetime | None:
        user = load_user(request)
        if user is None:
            return None
        with write_transaction(get_engine(request)) as conn:
            return record_visit(conn, user.id)

    return await run_in_threadpool(record)


async def note_opened(request: Request, arxiv_id: str) -> None:
    """Mark a paper a signed-in user opened as seen."""
    if SESSION_COOKIE not in request.cookies:
        return

    def record() -> None:
        user = load_user(request)
        if user is None:
            return
        engine = get_engine(request)
        with engine.connect() as conn:  # a re-read paper costs no write transaction
            paper_id = conn.execute(
                select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar()
            if paper_id is None or seen_paper_ids(conn, user.id, [paper_id]):
                return
        with write_transaction(engine) as conn:
            mark_seen(conn, user.id, [paper_id])

    await run_in_threadpool(record)
