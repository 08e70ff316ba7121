"""Personalised ranking: which new papers each person should see, and why.

Each person is a :class:`Profile`: several interest vectors kept apart (every interest
text, every upvoted or saved paper) rather than one average, so a person interested in
both "protein structure" and "speech recognition" gets the best of each. A paper's score is

    best cosine over the interest vectors
    - 0.5 x max(0, best cosine over "not interested" papers)
    + 0.10 x trending (the period's trending score, rank/trending.py, scaled to 0..1)
    + 0.25 if a followed author wrote it
    + 0.10 if it is in a followed category

The interest vectors are the person's saved searches (a search's filters limit what its
vector may match) and the papers they upvoted or saved. Papers the person was already
sent, muted keywords and excluded categories are removed; a paper must reach
``min_similarity`` unless a followed author wrote it or it is in a followed category. The
reason shown is the follow that matched: "by an author you follow: Ada Lovelace", "matches
your saved search ‘long-context attention’", "new in cs.CL, a category you follow".

:func:`rank_profiles` scores many profiles at once (one matrix product per chunk of
profiles): the digest of 100,000 subscribers uses it, and so do the "For you" page and the
personalised feed through :func:`recommend_for_user`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import Connection, and_, select

from paperfeed.identifiers import author_key
from paperfeed.index.embedder import Embedder
from paperfeed.index.vectors import get_vectors
from paperfeed.rank.listings import today
from paperfeed.rank.trending import TrendingWindow, score_window
from paperfeed.store.schema import paper_categories, paper_signals, papers

Section = Literal["trending", "personal"]


@dataclass(frozen=True, slots=True)
class Weights:
    """The knobs of the score above."""

    negative: float = 0.5
    trending: float = 0.10
    author: float = 0.25
    category: float = 0.10
    min_similarity: float = 0.20
    trending_share: float = 0.34  # share of "both" digests given to the trending section


DEFAULT_WEIGHTS = Weights()


@dataclass(slots=True)
class Profile:
    """One person's interests. ``labels[i]`` is the reason shown when ``vectors[i]`` wins."""

    key: str  # "sub:<id>" or "user:<id>"
    vectors: np.ndarray  # (k, dim) float32, L2-normalised; k may be 0
    labels: list[str]
    negatives: np.ndarray  # (m, dim)
    authors: list[str] = field(default_factory=list)  # followed
    categories: list[str] = field(default_factory=list)  # followed
    exclude_categories: list[str] = field(default_factory=list)
    muted_keywords: list[str] = field(default_factory=list)
    exclude_ids: set[int] = field(default_factory=set)
    content: str = "both"  # trending | personal | both
    limit: int = 10
    # Per vector (or none at all): a saved search's filters, {"category": .., "author": ..};
    # the vector only counts for papers that pass them.
    scopes: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Recommendation:
    paper_id: int
    score: float
    reason: str
    section: Section


@dataclass(slots=True)
class Candidates:
    """The papers that may be recommended, as arrays aligned by row."""

    ids: np.ndarray  # (n,) int64
    matrix: np.ndarray  # (n, dim) float32
    trending: np.ndarray  # (n,) float32, 0..1
    upvotes: np.ndarray  # (n,) int
    categories: list[tuple[str, ...]]
    authors: list[tuple[str, ...]]  # folded names (identifiers.author_key)
    texts: list[str]  # lower-cased title + abstract, for muted keywords
    _masks: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _rows: dict[int, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def row_of(self, paper_id: int) -> int | None:
        if not self._rows:
            self._rows = {int(p): i for i, p in enumerate(self.ids)}
        return self._rows.get(paper_id)

    def mask(self, kind: str, value: str) -> np.ndarray:
        """Rows in category ``value`` / mentioning keyword / written by author / by an author
        whose name has all the words of ``value`` (kind ``author_words``), cached."""
        key = (kind, author_key(value) if kind.startswith("author") else value.lower())
        found = self._masks.get(key)
        if found is None:
            needle = key[1]
            if kind == "category":
                found = np.array([needle in (c.lower() for c in cats) for cats in self.categories])
            elif kind == "keyword":
                found = np.array([needle in text for text in self.texts])
            elif kind == "author_words":
                words = needle.split()
                found = np.array([any(all(w in name for w in words) for name in names)
                                  for names in self.authors])
            else:
                found = np.array([needle in names for names in self.authors])
            found = found.astype(bool).reshape(len(self))
            self._masks[key] = found
        return found


def load_candidates(
    conn: Connection,
    start: dt.date,
    end: dt.date,
    matrix_for: MatrixSource,
) -> Candidates:
    """Visible papers announced between ``start`` and ``end`` (inclusive) with their vectors.

    ``matrix_for(conn, ids)`` returns the (len(ids), dim) vectors. Trending is the one
    trending score of :func:`paperfeed.rank.trending.score_window` over that window, so a
    digest ranks exactly as the site's /trending does.
    """
    in_window = and_(
        papers.c.announced_on >= start, papers.c.announced_on <= end,
        papers.c.hidden.is_(False),
    )
    rows = conn.execute(
        select(
            papers.c.id, papers.c.title, papers.c.abstract, papers.c.authors_text,
            papers.c.upvotes,
        )
        .where(in_window)
        .order_by(papers.c.id)
    ).all()
    ids = [r.id for r in rows]
    cats: dict[int, list[tuple[bool, str]]] = {}
    for start_at in range(0, len(ids), 900):
        for r in conn.execute(
            select(paper_categories)
            .where(paper_categories.c.paper_id.in_(ids[start_at:start_at + 900]))
        ):
            cats.setdefault(r.paper_id, []).append((not r.is_primary, r.category))
    # The upvotes a reason quotes: local ones plus Hugging Face's where ingested.
    votes = {r.id: r.upvotes for r in rows}
    for start_at in range(0, len(ids), 900):
        for pid, value in conn.execute(
            select(paper_signals.c.paper_id, paper_signals.c.value).where(
                paper_signals.c.paper_id.in_(ids[start_at:start_at + 900]),
                paper_signals.c.source == "hf", paper_signals.c.kind == "upvotes",
            )
        ):
            votes[pid] += int(value) if str(value).isdigit() else 0
    scored = {
        s.paper_id: s.score
        for s in score_window(conn, in_window, TrendingWindow(start, end, today(conn)))
    }
    scores = np.array([scored.get(r.id, 0.0) for r in rows], dtype=np.float32)
    top = float(scores.max()) if len(scores) else 1.0
    return Candidates(
        ids=np.array(ids, dtype=np.int64),
        matrix=matrix_for(conn, ids) if ids else np.zeros((0, 1), dtype=np.float32),
        trending=scores / top if top > 0 else scores,
        upvotes=np.array([votes[r.id] for r in rows], dtype=np.int64),
        categories=[tuple(c for _, c in sorted(cats.get(r.id, []))) for r in rows],
        authors=[tuple(author_key(a) for a in r.authors_text.split(",") if a.strip())
                 for r in rows],
        texts=[f"{r.title} {r.abstract}".lower() for r in rows],
    )


class MatrixSource:
    """Vectors of papers: stored ones from the search index, the rest embedded now."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, conn: Connection, ids: Sequence[int]) -> np.ndarray:
        stored = get_vectors(conn, list(ids), model_id=self.embedder.model_id)
        dim = int(self.embedder.dim)
        out = np.zeros((len(ids), dim), dtype=np.float32)
        missing = []
        for row, pid in enumerate(ids):
            vec = stored.get(pid)
            if vec is not None and vec.shape[-1] == dim:
                out[row] = vec
            else:
                missing.append((row, pid))
        if missing:
            from paperfeed.index.text import embedding_text

            texts = {
                r.id: embedding_text(r.title, r.abstract)
                for r in conn.execute(
                    select(papers.c.id, papers.c.title, papers.c.abstract).where(
                        papers.c.id.in_([pid for _, pid in missing])
                    )
                )
            }
            vecs = self.embedder.embed([texts.get(pid, "") for _, pid in missing])
            for (row, _), vec in zip(missing, vecs, strict=True):
                out[row] = vec
        return out


def _allowed(profile: Profile, cands: Candidates) -> np.ndarray:
    allowed = np.ones(len(cands), dtype=bool)
    for cat in profile.exclude_categories:
        allowed &= ~cands.mask("category", cat)
    for word in profile.muted_keywords:
        allowed &= ~cands.mask("keyword", word)
    for pid in profile.exclude_ids:
        row = cands.row_of(pid)
        if row is not None:
            allowed[row] = False
    return allowed


def _trending_reason(cands: Candidates, row: int) -> str:
    votes = int(cands.upvotes[row])
    if votes:
        return f"trending: {votes} upvote{'s' if votes != 1 else ''}"
    cats = cands.categories[row]
    return f"new in {cats[0]}" if cats else "new this period"


def rank_profiles(
    profiles: Sequence[Profile],
    cands: Candidates,
    weights: Weights = DEFAULT_WEIGHTS,
    *,
    chunk: int = 2048,
) -> list[list[Recommendation]]:
    """Recommendations for every profile, in order: trending section first, then personal.

    Pure computation (no database). Memory is bounded by ``chunk`` profiles at a time.
    """
    results: list[list[Recommendation]] = []
    trending_order = np.argsort(-cands.trending, kind="stable")
    for begin in range(0, len(profiles), chunk):
        results.extend(
            _rank_chunk(profiles[begin : begin + chunk], cands, weights, trending_order)
        )
    return results


def _best_per_profile(
    mats: list[np.ndarray], paper_t: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(best cosine per profile x paper, all cosines, row offset of each profile)."""
    sizes = [m.shape[0] for m in mats]
    offsets = np.cumsum([0, *sizes])[:-1]
    nonempty = [i for i, s in enumerate(sizes) if s]
    best = np.full((len(mats), n), -np.inf, dtype=np.float32)
    if not nonempty:
        return best, np.zeros((0, n), dtype=np.float32), list(offsets)
    stacked = np.vstack([mats[i] for i in nonempty]).astype(np.float32, copy=False)
    sims = stacked @ paper_t
    starts = np.cumsum([0, *[sizes[i] for i in nonempty]])[:-1]
    best[nonempty] = np.maximum.reduceat(sims, starts, axis=0)
    # offsets into ``sims`` for every profile (profiles without vectors have none)
    sim_offsets = [0] * len(mats)
    for pos, i in enumerate(nonempty):
        sim_offsets[i] = int(starts[pos])
    return best, sims, sim_offsets


def _rank_chunk(
    profiles: Sequence[Profile],
    cands: Candidates,
    w: Weights,
    trending_order: np.ndarray,
) -> list[list[Recommendation]]:
    n = len(cands)
    if n == 0:
        return [[] for _ in profiles]
    paper_t = np.ascontiguousarray(cands.matrix.T)
    best, sims, sim_offsets = _best_per_profile([p.vectors for p in profiles], paper_t, n)
    for i, profile in enumerate(profiles):
        if any(profile.scopes):
            block = sims[sim_offsets[i] : sim_offsets[i] + profile.vectors.shape[0]]
            for j, scope in enumerate(profile.scopes):
                if scope:
                    block[j, ~_scope_mask(scope, cands)] = -np.inf
            best[i] = block.max(axis=0)
    neg_best, _, _ = _best_per_profile([p.negatives for p in profiles], paper_t, n)
    penalty = np.clip(neg_best, 0.0, None)
    score = best - w.negative * penalty + w.trending * cands.trending[None, :]
    out: list[list[Recommendation]] = []
    for i, profile in enumerate(profiles):
        allowed = _allowed(profile, cands)
        n_trending = 0
        if profile.content == "trending":
            n_trending = profile.limit
        elif profile.content == "both":
            n_trending = max(1, round(profile.limit * w.trending_share))
        # Personal picks are chosen first (a trending paper that matches an interest is
        # shown with that reason); the trending section takes the best of the rest and
        # any room the personal section left. Shown: trending first, then personal.
        personal = (
            _personal_picks(profile, cands, w, i, best, score, sims, sim_offsets,
                            profile.limit - n_trending, allowed)
            if profile.content != "trending" else []
        )
        taken = np.zeros(n, dtype=bool)
        for row, _ in personal:
            taken[row] = True
        room = profile.limit - len(personal)
        rows = trending_order[(allowed & ~taken)[trending_order]][:room] if room > 0 and (
            profile.content != "personal") else []
        picks = [
            Recommendation(int(cands.ids[row]), float(cands.trending[row]),
                           _trending_reason(cands, int(row)), "trending")
            for row in rows
        ]
        picks += [rec for _, rec in personal]
        out.append(picks)
    return out


def _personal_picks(
    profile: Profile,
    cands: Candidates,
    w: Weights,
    i: int,
    best: np.ndarray,
    score: np.ndarray,
    sims: np.ndarray,
    sim_offsets: list[int],
    room: int,
    allowed: np.ndarray,
) -> list[tuple[int, Recommendation]]:
    """(row, recommendation) of the best personal matches of profile ``i``, best first."""
    if room <= 0:
        return []
    n = len(cands)
    # Without any vector (or none that may match a row) the similarity is -inf: such a
    # row can still come in through a followed author or category, on its trending part.
    row_score = np.where(np.isfinite(score[i]), score[i], w.trending * cands.trending)
    by_author = np.zeros(n, dtype=bool)
    for name in profile.authors:
        by_author |= cands.mask("author", name)
    row_score[by_author] += w.author
    by_category = np.zeros(n, dtype=bool)
    for cat in profile.categories:
        by_category |= cands.mask("category", cat)
    row_score[by_category] += w.category
    matched = best[i] >= w.min_similarity
    eligible = allowed & (matched | by_author | by_category)
    row_score[~eligible] = -np.inf
    k = min(room, int(eligible.sum()))
    if k == 0:
        return []
    top = np.argpartition(-row_score, k - 1)[:k]
    top = top[np.argsort(-row_score[top], kind="stable")]
    k_vec = profile.vectors.shape[0]
    winners = (
        sims[sim_offsets[i] : sim_offsets[i] + k_vec][:, top].argmax(axis=0)
        if k_vec else np.zeros(len(top), dtype=int)
    )
    found = []
    for row, win in zip(top, winners, strict=True):
        reason = _author_reason(profile, cands, int(row)) if by_author[row] else None
        if reason is None and k_vec and matched[row]:
            reason = profile.labels[int(win)]
        if reason is None and by_category[row]:
            reason = _category_reason(profile, cands, int(row))
        if reason is None:
            reason = "new this period"
        found.append((int(row), Recommendation(int(cands.ids[row]), float(row_score[row]),
                                               reason, "personal")))
    return found


def _scope_mask(scope: dict[str, str], cands: Candidates) -> np.ndarray:
    """Rows that pass a saved search's filters."""
    mask = np.ones(len(cands), dtype=bool)
    if scope.get("category"):
        mask &= cands.mask("category", scope["category"])
    if scope.get("author"):
        mask &= cands.mask("author_words", scope["author"])
    return mask


def _author_reason(profile: Profile, cands: Candidates, row: int) -> str | None:
    names = cands.authors[row]
    for name in profile.authors:
        if author_key(name) in names:
            return f"by an author you follow: {name}"
    return None


def _category_reason(profile: Profile, cands: Candidates, row: int) -> str:
    cats = {c.lower() for c in cands.categories[row]}
    name = next(c for c in profile.categories if c.lower() in cats)
    return f"new in {name}, a category you follow"


def search_label(text: str, filters: dict[str, str] | None = None) -> str:
    """The reason shown for a saved search (an interest typed in the digest form is one)."""
    short = text if len(text) <= 60 else text[:57].rstrip() + "…"
    extra = "".join(f" {word} {filters[key]}" for key, word in (("category", "in"),
                                                                 ("author", "by"))
                    if filters and filters.get(key))
    return f"matches your saved search ‘{short}’{extra}"


def paper_label(title: str, how: str) -> str:
    """The reason shown for a paper the person upvoted or saved (``how``)."""
    short = title if len(title) <= 60 else title[:57].rstrip() + "…"
    return f"similar to ‘{short}’, which you {how}"
