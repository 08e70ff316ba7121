"""Ingest checkpoints: where a paged upstream job got to, kept in the database.

A source stores its cursor (next offset, resumptionToken, "done") in the same transaction
as the papers of the page that moved it, so a crash never skips or repeats a page.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, select

from .database import dialect
from .schema import ingest_checkpoints

DONE = "done"


def get_checkpoint(conn: Connection, source: str, key: str) -> str | None:
    """The cursor saved for (source, key), or None if the job never ran."""
    return conn.execute(
        select(ingest_checkpoints.c.cursor).where(
            ingest_checkpoints.c.source == source, ingest_checkpoints.c.key == key
        )
    ).scalar_one_or_none()


def set_checkpoint(conn: Connection, source: str, key: str, cursor: str) -> None:
    """Save the cursor for (source, key), replacing the previous one."""
    stmt = dialect(conn).insert(ingest_checkpoints).values(
        source=source, key=key[:255], cursor=cursor, updated_at=dt.datetime.now(dt.UTC)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "key"],
        set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt)


def clear_checkpoint(conn: Connection, source: str, key: str) -> None:
    """Forget a job's progress so the next run starts from the beginning."""
    conn.execute(
        delete(ingest_checkpoints).where(
            ingest_checkpoints.c.source == source, ingest_checkpoints.c.key == key
        )
    )
