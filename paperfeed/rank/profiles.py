"""Building recommendation profiles from what people told us and did: their follows
(saved searches, embedded once and stored with the subscription; authors; categories),
upvoted and saved papers, "not interested" clicks, category and keyword mutes, papers
already sent.

Also the entry point of the "For you" page and the personalised feed:
:func:`recommend_for_user`. Functions take a connection and never write, except
:func:`embed_missing_interests`, which writes vectors (the caller commits).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, func, select

from paperfeed.index.embedder import Embedder
from paperfeed.store.community_schema import collection_items, collections, votes
from paperfeed.store.digest_ledger import papers_already_sent
from paperfeed.store.follows import Follow, Owner, list_follows
from paperfeed.store.interest_vectors import load_interest_vectors, store_interest_vectors
from paperfeed.store.schema import papers
from paperfeed.store.seen import seen_paper_ids
from paperfeed.store.subscriptions import (
    Subscription,
    find_subscription,
    not_interested_papers,
    subscriptions_missing_vectors,
)

from .recommend import (
    DEFAULT_WEIGHTS,
    Candidates,
    MatrixSource,
    Profile,
    Recommendation,
    Weights,
    load_candidates,
    paper_label,
    rank_profiles,
    search_label,
)


@dataclass(frozen=True, slots=True)
class RecommendedPaper:
    """A recommendation with the card to show it (For you page, personalised feed)."""

    card: object  # paperfeed.rank.cards.PaperCard
    reason: str
    score: float
    section: str


def embed_missing_interests(conn: Connection, embedder: Embedder, *, batch: int = 500) -> int:
    """Embed the interest texts of subscriptions that have no vectors from this model yet.

    Writes ``interest_vectors`` rows; returns the number of subscriptions embedded.
    """
    done = 0
    while True:
        subs = subscriptions_missing_vectors(conn, embedder.model_id, limit=batch)
        if not subs:
            return done
        texts = [t for s in subs for t in s.prefs.interests]
        vectors = embedder.embed(texts)
        pos = 0
        for sub in subs:
            k = len(sub.prefs.interests)
            store_interest_vectors(conn, sub.id, sub.prefs.interests, vectors[pos : pos + k],
                                   embedder.model_id)
            pos += k
        done += len(subs)
        if len(subs) < batch:
            return done


def _search_vectors(
    searches: Sequence[Follow], stored: list[tuple[str, np.ndarray]] | None, embedder: Embedder
) -> list[np.ndarray]:
    """One vector per saved search: the stored ones when they were made for these texts."""
    texts = [f.value for f in searches]
    if stored is not None and [t for t, _ in stored] == texts:
        return [v for _, v in stored]
    return list(embedder.embed(texts)) if texts else []


def user_papers(
    conn: Connection, user_id: int
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """([(paper id, title)] upvoted, [(paper id, title)] saved) by a user, newest first."""
    upvoted = conn.execute(
        select(papers.c.id, papers.c.title)
        .join(votes, votes.c.paper_id == papers.c.id)
        .where(votes.c.user_id == user_id)
        .order_by(votes.c.created_at.desc())
        .limit(50)
    ).all()
    saved = conn.execute(
        select(papers.c.id, papers.c.title, func.max(collection_items.c.added_at).label("at"))
        .join(collection_items, collection_items.c.paper_id == papers.c.id)
        .join(collections, collections.c.id == collection_items.c.collection_id)
        .where(collections.c.user_id == user_id)
        .group_by(papers.c.id, papers.c.title)
        .order_by(func.max(collection_items.c.added_at).desc())
        .limit(50)
    ).all()
    return [(r.id, r.title) for r in upvoted], [(r.id, r.title) for r in saved]


def _stack(vectors: Sequence[np.ndarray], dim: int) -> np.ndarray:
    if not vectors:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack(vectors).astype(np.float32, copy=False)


def profiles_for_subscriptions(
    conn: Connection,
    subs: Sequence[Subscription],
    embedder: Embedder,
    cands: Candidates,
    matrix_for: MatrixSource,
) -> list[Profile]:
    """One profile per subscription, aligned with ``subs``.

    Saved-search vectors come from the database (embedded now if missing or made for other
    texts); a subscription linked to an account also gets the account's upvoted and saved
    papers as interests and its "not interested" clicks as negatives; papers already
    mailed are excluded.
    """
    dim = int(embedder.dim)
    ids = [s.id for s in subs]
    stored = load_interest_vectors(conn, ids, embedder.model_id)
    missing = [s for s in subs if s.prefs.interests
               and [t for t, _ in stored.get(s.id, [])] != s.prefs.interests]
    if missing:
        texts = [t for s in missing for t in s.prefs.interests]
        vecs = embedder.embed(texts)
        pos = 0
        for s in missing:
            k = len(s.prefs.interests)
            stored[s.id] = list(zip(s.prefs.interests, vecs[pos : pos + k], strict=True))
            pos += k
    subjects = [f"sub:{s.id}" for s in subs] + [f"user:{s.user_id}" for s in subs if s.user_id]
    negatives = not_interested_papers(conn, subjects)
    sent = papers_already_sent(conn, ids, [int(p) for p in cands.ids])
    extra_ids: set[int] = set()
    per_user: dict[int, tuple[list[tuple[int, str]], list[tuple[int, str]]]] = {}
    for s in subs:
        if s.user_id and s.user_id not in per_user:
            per_user[s.user_id] = user_papers(conn, s.user_id)
            extra_ids.update(p for p, _ in per_user[s.user_id][0] + per_user[s.user_id][1])
    for subject_negs in negatives.values():
        extra_ids.update(subject_negs)
    vec_of = _vectors_of(conn, sorted(extra_ids), cands, matrix_for)
    profiles = []
    for s in subs:
        searches = [f for f in s.follows if f.kind == "search"]
        vectors = [v for _, v in stored.get(s.id, [])] if searches else []
        labels = [search_label(f.value, f.filters) for f in searches]
        scopes = [f.filters for f in searches]
        negs = list(negatives.get(f"sub:{s.id}", []))
        if s.user_id:
            upvoted, saved = per_user[s.user_id]
            for how, items in (("upvoted", upvoted), ("saved", saved)):
                for pid, title in items:
                    if pid in vec_of:
                        vectors.append(vec_of[pid])
                        labels.append(paper_label(title, how))
                        scopes.append({})
            negs += negatives.get(f"user:{s.user_id}", [])
        profiles.append(Profile(
            key=f"sub:{s.id}",
            vectors=_stack(vectors, dim),
            labels=labels,
            negatives=_stack([vec_of[p] for p in negs if p in vec_of], dim),
            authors=s.prefs.authors,
            categories=s.prefs.categories,
            exclude_categories=s.prefs.exclude_categories,
            muted_keywords=s.prefs.muted_keywords,
            exclude_ids=sent.get(s.id, set()) | set(negs),
            content=s.prefs.content,
            limit=s.prefs.max_papers,
            scopes=scopes,
        ))
    return profiles


def _vectors_of(
    conn: Connection, ids: Sequence[int], cands: Candidates, matrix_for: MatrixSource
) -> dict[int, np.ndarray]:
    found: dict[int, np.ndarray] = {}
    rest = []
    for pid in ids:
        row = cands.row_of(pid)
        if row is None:
            rest.append(pid)
        else:
            found[pid] = cands.matrix[row]
    if rest:
        for pid, vec in zip(rest, matrix_for(conn, rest), strict=True):
            found[pid] = vec
    return found


def recommend_for_user(
    conn: Connection,
    user_id: int,
    embedder: Embedder,
    *,
    limit: int = 30,
    days: int = 7,
    as_of: dt.date | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    hide_seen: bool = False,
) -> list[RecommendedPaper]:
    """The "For you" list of a logged-in user: papers of the ``days`` announcement days up to
    ``as_of`` (default: the newest day), ranked against the user's follows, upvotes and
    saves, without papers they already upvoted, saved or marked "not interested".

    A user with no signal at all gets the period's trending papers. ``hide_seen`` leaves
    out the papers the user opened, voted on or dismissed. Read-only.
    """
    from paperfeed.rank.cards import load_cards

    end = as_of or conn.execute(select(func.max(papers.c.announced_on))).scalar()
    if end is None:
        return []
    matrix_for = MatrixSource(embedder)
    cands = load_candidates(conn, end - dt.timedelta(days=days - 1), end, matrix_for)
    sub = find_subscription(conn, user_id=user_id)
    followed = list_follows(conn, Owner(user_id=user_id))
    searches = [f for f in followed if f.kind == "search"]
    authors = [f.value for f in followed if f.kind == "author"]
    categories = [f.value for f in followed if f.kind == "category"]
    dim = int(embedder.dim)
    stored = load_interest_vectors(conn, [sub.id], embedder.model_id).get(sub.id) if sub else None
    vectors = _search_vectors(searches, stored, embedder)
    labels = [search_label(f.value, f.filters) for f in searches]
    scopes = [f.filters for f in searches]
    upvoted, saved = user_papers(conn, user_id)
    subjects = [f"user:{user_id}"] + ([f"sub:{sub.id}"] if sub else [])
    negs = [p for subject in subjects
            for p in not_interested_papers(conn, [subject]).get(subject, [])]
    shown = sorted({p for p, _ in upvoted + saved} | set(negs))
    vec_of = _vectors_of(conn, shown, cands, matrix_for)
    for how, items in (("upvoted", upvoted), ("saved", saved)):
        for pid, title in items:
            vectors.append(vec_of[pid])
            labels.append(paper_label(title, how))
            scopes.append({})
    content = "personal" if vectors or authors or categories else "trending"
    profile = Profile(
        key=f"user:{user_id}",
        vectors=_stack(vectors, dim),
        labels=labels,
        negatives=_stack([vec_of[p] for p in negs], dim),
        authors=authors,
        categories=categories,
        exclude_categories=sub.prefs.exclude_categories if sub else [],
        muted_keywords=sub.prefs.muted_keywords if sub else [],
        exclude_ids={p for p, _ in upvoted + saved} | set(negs)
        | (seen_paper_ids(conn, user_id, [int(p) for p in cands.ids]) if hide_seen else set()),
        content=content,
        limit=limit,
        scopes=scopes,
    )
    recs: list[Recommendation] = rank_profiles([profile], cands, weights)[0]
    cards = load_cards(conn, [r.paper_id for r in recs])
    return [RecommendedPaper(cards[r.paper_id], r.reason, r.score, r.section)
            for r in recs if r.paper_id in cards]
