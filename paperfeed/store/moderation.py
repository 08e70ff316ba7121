"""Admin moderation of papers: hide a paper from every listing, page and feed.

(Comments are hidden with comments.set_comment_hidden, users disabled with
users.set_user_disabled.) Functions never commit.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from .data_version import bump_data_version
from .schema import papers


def set_paper_hidden(conn: Connection, arxiv_id: str, hidden: bool) -> bool:
    """Hide or show a paper by arXiv id; False when there is no such paper."""
    result = conn.execute(
        update(papers).where(papers.c.arxiv_id == arxiv_id).values(hidden=hidden)
    )
    if result.rowcount:
        bump_data_version(conn)
    return result.rowcount == 1


def hidden_papers(conn: Connection, *, limit: int = 100) -> list[tuple[str, str]]:
    """(arxiv_id, title) of hidden papers, for the admin area."""
    rows = conn.execute(
        select(papers.c.arxiv_id, papers.c.title)
        .where(papers.c.hidden.is_(True))
        .order_by(papers.c.arxiv_id.desc())
        .limit(limit)
    ).all()
    return [(r.arxiv_id, r.title) for r in rows]
