"""Landing upstream pages: a page's papers and the checkpoint that moves past it, together.

Every paged source (arXiv API, OAI-PMH, RSS detail batches, Hugging Face days) stores a
page and its cursor in one transaction, so a run that dies between pages resumes at the
first page that did not land, and a finished run clears its cursor so the next run reads
everything again (and finds it unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine

from paperfeed.models import ImportSummary, Paper, Rejected
from paperfeed.store.checkpoints import clear_checkpoint, get_checkpoint, set_checkpoint
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import AuthorIds, upsert_papers

MAX_KEPT_REJECTIONS = 1000  # the count stays exact; only the first reasons are kept

Progress = Callable[[int, int | None], None]  # (done, total or None when unknown)


def store_page(
    conn: Connection,
    papers: list[Paper],
    *,
    source: str,
    key: str,
    cursor: str,
    author_ids: AuthorIds | None = None,
) -> ImportSummary:
    """Upsert one page of papers and save ``cursor`` for (source, key) on ``conn``.

    Output: the page's inserted / updated / unchanged counts. Side effects: paper rows
    and the checkpoint row, in the caller's transaction (this does not commit).
    """
    page = upsert_papers(conn, papers, author_ids=author_ids) if papers else ImportSummary()
    set_checkpoint(conn, source, key, cursor)
    return page


def land_page(
    engine: Engine,
    summary: ImportSummary,
    papers: list[Paper],
    rejections: Iterable[Rejected],
    *,
    source: str,
    key: str,
    cursor: str,
    author_ids: AuthorIds | None = None,
) -> None:
    """Commit one page and its cursor in a transaction of its own; add its counts and
    rejections to ``summary``."""
    with write_transaction(engine) as conn:
        page = store_page(
            conn, papers, source=source, key=key, cursor=cursor, author_ids=author_ids
        )
    summary.add(page)
    for rejected in rejections:
        record_rejection(summary, rejected)


def record_rejection(summary: ImportSummary, rejected: Rejected) -> None:
    """Count a rejected record and keep its reason (up to MAX_KEPT_REJECTIONS)."""
    summary.rejected += 1
    if len(summary.rejections) < MAX_KEPT_REJECTIONS:
        summary.rejections.append(rejected)


def saved_cursor(engine: Engine, source: str, key: str) -> str | None:
    """The cursor a previous, unfinished run left for (source, key), or None."""
    with engine.connect() as conn:
        return get_checkpoint(conn, source, key)


def finish_run(engine: Engine, source: str, key: str) -> None:
    """Forget the cursor of a run that reached its end."""
    with write_transaction(engine) as conn:
        clear_checkpoint(conn, source, key)
