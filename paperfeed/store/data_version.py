"""The site's data version: a counter that page caches key on.

Every community write (vote, comment, submission, moderation) bumps it in its own
transaction, so a cached page built before the write is never served after it commits, in
any worker process.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from .community_schema import data_versions
from .database import dialect

SITE = "site"


def bump_data_version(conn: Connection) -> None:
    """Increment the site data version (creating it at 1). Call inside the writing transaction."""
    result = conn.execute(
        update(data_versions)
        .where(data_versions.c.name == SITE)
        .values(value=data_versions.c.value + 1)
    )
    if result.rowcount == 0:
        stmt = dialect(conn).insert(data_versions).values(name=SITE, value=1)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={"value": data_versions.c.value + 1}
            )
        )


def read_data_version(conn: Connection) -> int:
    """The current site data version (0 before the first community write)."""
    value = conn.execute(
        select(data_versions.c.value).where(data_versions.c.name == SITE)
    ).scalar_one_or_none()
    return int(value or 0)
