"""Comments on papers: Markdown (paperfeed/comment_markup.py), threaded, edited or deleted
by their author, hidden by an admin.

Threads: a reply stores the comment it answers (``parent_id``) and its thread's top comment
(``root_id``), so any depth is stored while a page shows top comments with their whole
thread one level below (:func:`list_threads`). Deleting a comment leaves its replies in
place (their ``parent_id`` / ``root_id`` become NULL through the foreign keys).

``papers.num_comments`` counts visible comments, replies included, and moves in the same
transaction as the row that changes it. Functions never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, delete, func, select, update

from .community_schema import comments, users
from .data_version import bump_data_version
from .public_ids import new_id_values
from .schema import papers

MAX_COMMENT = 5000
MAX_COMMENTS_PER_USER_PER_PAPER = 50  # one person cannot bury a discussion


class CommentError(ValueError):
    """A comment that cannot be written; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    paper_id: int
    user_id: int
    username: str
    author_name: str
    body: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    hidden: bool
    parent_id: int | None = None
    root_id: int | None = None


def _clean(body: str) -> str:
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise CommentError("A comment cannot be empty.")
    if len(text) > MAX_COMMENT:
        raise CommentError(f"Comments are at most {MAX_COMMENT} characters.")
    return text


def _count(conn: Connection, paper_id: int, delta: int) -> None:
    conn.execute(
        update(papers)
        .where(papers.c.id == paper_id)
        .values(num_comments=papers.c.num_comments + delta)
    )
    bump_data_version(conn)


def add_comment(conn: Connection, paper_id: int, user_id: int, body: str,
                parent_id: int | None = None) -> int:
    """Store a comment (a reply to ``parent_id`` when given); returns its id. Raises
    CommentError for an empty or huge body, a parent that is not a visible comment on the
    same paper, or when the user already has MAX_COMMENTS_PER_USER_PER_PAPER comments on
    the paper."""
    body = _clean(body)
    root_id = None
    if parent_id is not None:
        parent = get_comment(conn, parent_id)
        if parent is None or parent.hidden or parent.paper_id != paper_id:
            raise CommentError("The comment you replied to is gone.")
        root_id = parent.root_id or parent.id
    mine = conn.execute(select(func.count()).select_from(comments).where(
        comments.c.paper_id == paper_id, comments.c.user_id == user_id)).scalar_one()
    if mine >= MAX_COMMENTS_PER_USER_PER_PAPER:
        raise CommentError(f"One person can leave at most {MAX_COMMENTS_PER_USER_PER_PAPER} "
                           "comments on a paper. Edit one of yours instead.")
    cid = conn.execute(
        comments.insert()
        .values(**new_id_values(conn, "comments"), paper_id=paper_id, user_id=user_id, body=body,
                created_at=dt.datetime.now(dt.UTC), hidden=False, parent_id=parent_id,
                root_id=root_id)
        .returning(comments.c.id)
    ).scalar_one()
    _count(conn, paper_id, +1)
    return int(cid)


def get_comment(conn: Connection, comment_id: int) -> Comment | None:
    rows = _select(conn, comments.c.id == comment_id, include_hidden=True)
    return rows[0] if rows else None


def edit_comment(conn: Connection, comment_id: int, user_id: int, body: str) -> bool:
    """Replace the text of the user's own comment; False when it is not theirs."""
    result = conn.execute(
        update(comments)
        .where(comments.c.id == comment_id, comments.c.user_id == user_id)
        .values(body=_clean(body), edited_at=dt.datetime.now(dt.UTC))
    )
    if result.rowcount:
        bump_data_version(conn)
    return result.rowcount == 1


def delete_comment(conn: Connection, comment_id: int, user_id: int) -> bool:
    """Delete the user's own comment; False when it is not theirs."""
    found = get_comment(conn, comment_id)
    if found is None or found.user_id != user_id:
        return False
    conn.execute(delete(comments).where(comments.c.id == comment_id))
    if not found.hidden:
        _count(conn, found.paper_id, -1)
    return True


def set_comment_hidden(conn: Connection, comment_id: int, hidden: bool) -> bool:
    """Admin: hide or show a comment; keeps num_comments equal to the visible ones."""
    found = get_comment(conn, comment_id)
    if found is None:
        return False
    if found.hidden != hidden:
        conn.execute(update(comments).where(comments.c.id == comment_id).values(hidden=hidden))
        _count(conn, found.paper_id, -1 if hidden else +1)
    return True


def list_comments(
    conn: Connection, paper_id: int, *, include_hidden: bool = False,
    limit: int | None = None, offset: int = 0,
) -> list[Comment]:
    """A paper's comments, oldest first; ``limit``/``offset`` give one page of them."""
    return _select(conn, comments.c.paper_id == paper_id, include_hidden=include_hidden,
                   limit=limit, offset=offset)


def list_threads(
    conn: Connection, paper_id: int, *, include_hidden: bool = False,
    limit: int | None = None, offset: int = 0,
) -> list[tuple[Comment, list[Comment]]]:
    """One page of a paper's threads, oldest first: each top comment (one without a thread
    root) with every reply in its thread, oldest first, however deep it was posted.

    Without ``include_hidden``, hidden replies are left out and a hidden top comment stays
    (flagged ``hidden``, for the caller to show as a placeholder) only when visible replies
    hang below it, so that hiding one comment does not take its answers away."""
    tops = _select(conn, and_(comments.c.paper_id == paper_id, comments.c.root_id.is_(None)),
                   include_hidden=True, limit=limit, offset=offset)
    replies: dict[int, list[Comment]] = {c.id: [] for c in tops}
    if tops:
        for reply in _select(conn, comments.c.root_id.in_(list(replies)),
                             include_hidden=include_hidden):
            replies[reply.root_id or 0].append(reply)
    return [(top, replies[top.id]) for top in tops
            if include_hidden or not top.hidden or replies[top.id]]


def recent_comments(conn: Connection, *, limit: int = 50) -> list[Comment]:
    """The newest comments site-wide, hidden ones included (admin area)."""
    return _select(conn, None, include_hidden=True, newest_first=True, limit=limit)


def _select(
    conn: Connection,
    cond: ColumnElement[bool] | None,
    *,
    include_hidden: bool,
    newest_first: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Comment]:
    stmt = select(
        comments, users.c.username, users.c.display_name
    ).join(users, users.c.id == comments.c.user_id)
    if cond is not None:
        stmt = stmt.where(cond)
    if not include_hidden:
        stmt = stmt.where(comments.c.hidden.is_(False))
    stmt = stmt.order_by(comments.c.id.desc() if newest_first else comments.c.id)
    if limit:
        stmt = stmt.limit(limit).offset(offset)
    return [
        Comment(
            id=r.id, paper_id=r.paper_id, user_id=r.user_id, username=r.username,
            author_name=r.display_name or r.username, body=r.body, created_at=r.created_at,
            edited_at=r.edited_at, hidden=bool(r.hidden), parent_id=r.parent_id,
            root_id=r.root_id,
        )
        for r in conn.execute(stmt)
    ]
