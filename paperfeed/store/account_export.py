""""Download my data": everything an account holds, as one JSON-ready dict.

Reads only. Secrets never leave: no password hash, no session or API token values (tokens
are listed by name and prefix, as settings shows them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, select

from .community_schema import (
    api_tokens,
    collection_items,
    collections,
    comments,
    sessions,
    submissions,
    votes,
)
from .follow_schema import seen_papers
from .follows import Owner, list_follows
from .mail_schema import recommendation_feedback, subscriptions
from .notifications import get_preferences
from .schema import papers
from .subscriptions import get_subscription
from .users import account_subscription_ids, get_user

FORMAT = "paperfeed-account-export"
VERSION = 1


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_account(conn: Connection, user_id: int) -> dict[str, Any] | None:
    """The account's data (None for no such account): ``profile``, ``votes``, ``comments``
    (hidden ones too, marked), ``collections`` with their papers in order, ``submissions``,
    ``subscription`` (the digest subscription that belongs to the account, or None),
    ``preferences`` (digest preferences, "not interested" papers, which notifications are
    mailed), ``following`` (authors, categories, saved searches), ``seen`` (papers opened,
    voted on or dismissed), ``api_tokens`` and ``sessions``. Papers are named by arXiv id
    and title; times are ISO 8601."""
    user = get_user(conn, user_id)
    if user is None:
        return None
    paper = (papers.c.arxiv_id.label("paper"), papers.c.title)
    voted = conn.execute(
        select(*paper, votes.c.created_at).select_from(votes)
        .join(papers, papers.c.id == votes.c.paper_id)
        .where(votes.c.user_id == user_id).order_by(votes.c.created_at, papers.c.arxiv_id)
    ).all()
    said = conn.execute(
        select(comments.c.id, comments.c.parent_id, *paper, comments.c.body,
               comments.c.created_at, comments.c.edited_at, comments.c.hidden)
        .select_from(comments).join(papers, papers.c.id == comments.c.paper_id)
        .where(comments.c.user_id == user_id).order_by(comments.c.id)
    ).all()
    submitted = conn.execute(
        select(*paper, submissions.c.feed_day, submissions.c.created_at)
        .select_from(submissions).join(papers, papers.c.id == submissions.c.paper_id)
        .where(submissions.c.user_id == user_id).order_by(submissions.c.created_at)
    ).all()
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(dt.datetime.now(dt.UTC)),
        "profile": {
            "id": user.id, "username": user.username, "email": user.email,
            "email_verified": user.email_verified, "display_name": user.display_name,
            "bio": user.bio, "admin": user.is_admin, "created_at": _iso(user.created_at),
            "theme": user.theme or "system",
        },
        "votes": [{"paper": r.paper, "title": r.title, "voted_at": _iso(r.created_at)}
                  for r in voted],
        "comments": [{"id": r.id, "in_reply_to": r.parent_id, "paper": r.paper,
                      "title": r.title, "body": r.body,
                      "created_at": _iso(r.created_at), "edited_at": _iso(r.edited_at),
                      "hidden_by_admin": bool(r.hidden)} for r in said],
        "collections": _collections(conn, user_id),
        "submissions": [{"paper": r.paper, "title": r.title, "feed_day": _iso(r.feed_day),
                         "submitted_at": _iso(r.created_at)} for r in submitted],
        **_mail(conn, user_id),
        "following": [{"kind": f.kind, "value": f.value, "filters": f.filters,
                       "created_at": _iso(f.created_at)}
                      for f in list_follows(conn, Owner(user_id=user_id))],
        "seen": [{"paper": r.paper, "title": r.title, "seen_at": _iso(r.seen_at)}
                 for r in conn.execute(
                     select(*paper, seen_papers.c.seen_at).select_from(seen_papers)
                     .join(papers, papers.c.id == seen_papers.c.paper_id)
                     .where(seen_papers.c.user_id == user_id)
                     .order_by(seen_papers.c.seen_at, papers.c.arxiv_id))],
        "api_tokens": [
            {"name": r.name, "prefix": r.prefix, "created_at": _iso(r.created_at),
             "last_used_at": _iso(r.last_used_at)}
            for r in conn.execute(select(api_tokens).where(api_tokens.c.user_id == user_id)
                                  .order_by(api_tokens.c.id))
        ],
        "sessions": [
            {"created_at": _iso(r.created_at), "expires_at": _iso(r.expires_at),
             "user_agent": r.user_agent}
            for r in conn.execute(
                select(sessions.c.created_at, sessions.c.expires_at, sessions.c.user_agent)
                .where(sessions.c.user_id == user_id).order_by(sessions.c.created_at))
        ],
    }


def _collections(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(collections).where(collections.c.user_id == user_id)
                        .order_by(collections.c.id)).all()
    items = conn.execute(
        select(collection_items.c.collection_id, papers.c.arxiv_id, papers.c.title,
               collection_items.c.added_at, collection_items.c.note)
        .select_from(collection_items).join(papers, papers.c.id == collection_items.c.paper_id)
        .where(collection_items.c.collection_id.in_([r.id for r in rows]))
        .order_by(collection_items.c.collection_id, collection_items.c.position)
    ).all() if rows else []
    return [{
        "id": r.id, "name": r.name, "description": r.description, "public": bool(r.is_public),
        "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at),
        "papers": [{"paper": i.arxiv_id, "title": i.title, "added_at": _iso(i.added_at),
                    "note": i.note} for i in items if i.collection_id == r.id],
    } for r in rows]


def _mail(conn: Connection, user_id: int) -> dict[str, Any]:
    """``subscription`` and ``preferences`` (digest preferences, "not interested")."""
    ids = account_subscription_ids(conn, user_id)
    sub = get_subscription(conn, ids[0]) if ids else None
    subjects = [f"user:{user_id}", *(f"sub:{i}" for i in ids)]
    muted = conn.execute(
        select(papers.c.arxiv_id).select_from(recommendation_feedback)
        .join(papers, papers.c.id == recommendation_feedback.c.paper_id)
        .where(recommendation_feedback.c.subject.in_(subjects))
        .order_by(papers.c.arxiv_id).distinct()
    ).scalars().all()
    subscription = None
    if sub is not None:
        row = conn.execute(select(subscriptions.c.unsubscribed_at)
                           .where(subscriptions.c.id == sub.id)).one()
        subscription = {
            "email": sub.email, "status": sub.status, "created_at": _iso(sub.created_at),
            "confirmed_at": _iso(sub.confirmed_at), "unsubscribed_at": _iso(row.unsubscribed_at),
        }
    return {
        "subscription": subscription,
        "preferences": {
            "digest": asdict(sub.prefs) if sub is not None else None,
            "not_interested": list(muted),
            "notifications": asdict(get_preferences(conn, user_id)),
        },
    }
