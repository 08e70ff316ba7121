"""Similar papers: every piece of evidence that two papers are about the same thing.

For a paper P and each candidate Q (the ``depth`` nearest by meaning and the ``depth``
nearest by words, united):

    score = vector_weight x cosine(P, Q)                      (MiniLM vectors)
          + keyword_weight x tfidf_cosine(P, Q)               (index/tfidf.py)
          + author_weight x [P and Q share an author]
          + category_weight x |categories(P) & categories(Q)| / |categories(P) | categories(Q)|
          + covote_weight x min(1, log2(1 + readers who upvoted or saved both) / 4)

The keyword evidence is "more like this": P's title and abstract as a TF-IDF query (its
``query_terms`` heaviest stems) against every paper's TF-IDF vector, a cosine in [0, 1]
like the vectors'. The two text weights were chosen on the CSFCube dev fold
(``paperfeed eval similar``; docs/search.md: flat between 0.5 and 1.2). Authors,
categories and co-votes are not in CSFCube, so their weights are small fixed nudges that
reorder close calls, not tuned numbers; they are looked up for the best
``SHORTLIST_FACTOR`` x limit papers by text only.

The paper itself, papers with the same title (duplicates, re-submissions) and hidden
papers are excluded. A paper without a vector yet is ranked by the other evidence.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Row, exists, func, select

from paperfeed.identifiers import parse_arxiv_id
from paperfeed.index.backend import backend_for
from paperfeed.index.schema import paper_summaries, paper_vectors
from paperfeed.index.tfidf import tfidf_neighbours
from paperfeed.index.vectors import decode_embedding, get_vectors
from paperfeed.models import Hit
from paperfeed.rank.filters import SearchFilters, paper_conditions
from paperfeed.rank.snippets import highlight_snippet
from paperfeed.store.community_schema import collection_items, collections, votes
from paperfeed.store.schema import paper_categories, papers
from paperfeed.store.similar_schema import similar_lists

MAX_LIMIT = 100
SHORTLIST_FACTOR = 3
# Requests up to this limit (the paper page's 10, the CLI's and API's default 10, the
# evaluation's 20) are served from the stored lists, which keep the best
# SHORTLIST_FACTOR x STORED_LIMIT + 10 candidates by text: the shortlist of any such limit.
STORED_LIMIT = 20
STORED_SIZE = SHORTLIST_FACTOR * STORED_LIMIT + 10
NEIGHBOUR = np.dtype([("id", "<i8"), ("cos", "<f4"), ("kw", "<f4")])


@dataclass(frozen=True, slots=True)
class SimilarParams:
    """Weights of the evidence (see the module docstring)."""

    vector_weight: float = 1.0
    keyword_weight: float = 0.8
    author_weight: float = 0.05
    category_weight: float = 0.03
    covote_weight: float = 0.05
    depth: int = 100
    query_terms: int = 40


DEFAULT_SIMILAR = SimilarParams()
# The stamp of the stored lists: the method, its parameters and the list length. Any change
# to the ranking above the shortlist (or to these numbers) must change it, so that
# `paperfeed index` recomputes every list rather than serving lists of another ranking.
STORED_METHOD = "similar-v1-" + hashlib.sha256(
    f"{DEFAULT_SIMILAR!r} {STORED_SIZE}".encode()).hexdigest()[:16]


def similar_papers(conn: Connection, arxiv_id: str, *, limit: int = 10,
                   params: SimilarParams = DEFAULT_SIMILAR, stored: bool = True) -> list[Hit]:
    """Up to ``limit`` papers most similar to ``arxiv_id``, best first.

    Input: an arXiv id (any version, or an arXiv/HF URL). Output: Hits with the combined
    score and reasons (cosine, shared keywords, shared authors, co-votes); the paper
    itself, duplicates of it (same title) and hidden papers are excluded; unknown ids give
    []. The text evidence comes from the paper's stored list (``paperfeed index``,
    rank/similar_lists.py) when it has a current one and the request fits in it
    (default params, ``limit`` <= STORED_LIMIT), otherwise it is computed here; authors,
    categories, co-votes, hidden papers and duplicates are always looked up now.
    ``stored=False`` always computes it here (benchmarks and tests compare the two).
    Side effects: none.
    """
    parsed = parse_arxiv_id(arxiv_id or "")
    key = parsed[0] if parsed else (arxiv_id or "").strip()
    limit = max(1, min(int(limit), MAX_LIMIT))
    saved = exists().where(collection_items.c.paper_id == papers.c.id)
    source = conn.execute(
        select(papers.c.id, papers.c.title, papers.c.abstract, papers.c.authors_text,
               papers.c.upvotes, saved.label("saved"), paper_summaries.c.keywords,
               paper_vectors.c.model_id, paper_vectors.c.text_hash, paper_vectors.c.embedding,
               similar_lists.c.method.label("list_method"),
               similar_lists.c.model_id.label("list_model"),
               similar_lists.c.text_hash.label("list_hash"), similar_lists.c.neighbours)
        .outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
        .outerjoin(paper_summaries, paper_summaries.c.paper_id == papers.c.id)
        .outerjoin(similar_lists, similar_lists.c.paper_id == papers.c.id)
        .where(papers.c.arxiv_id == key)
    ).first()
    if source is None:
        return []
    own_id = int(source.id)
    size = SHORTLIST_FACTOR * limit + 10
    evidence = ((_stored_evidence(source, params, limit) if stored else None)
                or _online_evidence(conn, source, params, limit, size))
    cosine, keyword, text = evidence.cosine, evidence.keyword, evidence.text
    has_vector = evidence.has_vector
    text.pop(own_id, None)
    # The other evidence adds at most author + category + co-vote weight: it reorders the
    # best papers by text, so only those are looked up (fewer and shorter queries).
    shortlist = sorted(text, key=lambda pid: (-text[pid], pid))[:size]
    rows = {r.id: r for r in conn.execute(
        select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract,
               papers.c.authors_text, paper_summaries.c.keywords)
        .outerjoin(paper_summaries, paper_summaries.c.paper_id == papers.c.id)
        .where(papers.c.id.in_(shortlist), *paper_conditions(SearchFilters()))
    )} if shortlist else {}
    categories = _categories(conn, [own_id, *rows]) if params.category_weight else {}
    readers = bool(source.upvotes) or bool(source.saved)
    covotes = _covotes(conn, own_id, list(rows)) if params.covote_weight and readers else {}
    own_title = " ".join(source.title.casefold().split())
    own_authors = {a.strip() for a in (source.authors_text or "").split(",") if a.strip()}
    own_cats = categories.get(own_id, set())
    scored: list[tuple[float, int, list[str]]] = []
    for pid, row in rows.items():
        if " ".join(row.title.casefold().split()) == own_title:
            continue
        reasons: list[str] = []
        score = text[pid]
        if pid in cosine:
            reasons.append(f"similar in meaning (cosine {cosine[pid]:.2f})")
        elif keyword.get(pid):
            reasons.append("shares title and abstract words" if has_vector else
                           "shares title and abstract words (not indexed by meaning yet)")
        shared = [a.strip() for a in (row.authors_text or "").split(",")
                  if a.strip() in own_authors]
        if shared:
            score += params.author_weight
            reasons.append("shares authors: " + ", ".join(shared[:3]))
        cats = categories.get(pid, set())
        if own_cats and cats:
            score += params.category_weight * len(own_cats & cats) / len(own_cats | cats)
        both = covotes.get(pid, 0)
        if both:
            score += params.covote_weight * min(1.0, math.log2(1 + both) / 4)
            reasons.append(f"{both} reader{'s' if both > 1 else ''} saved or upvoted both")
        scored.append((score, pid, reasons))
    scored.sort(key=lambda item: (-item[0], item[1]))
    own_topics = {k.casefold() for k in _keywords(source.keywords)}
    hits: list[Hit] = []
    for score, pid, reasons in scored[:limit]:
        words = [k for k in _keywords(rows[pid].keywords) if k.casefold() in own_topics]
        if words:
            reasons.insert(1, "shares keywords: " + ", ".join(words[:3]))
        hits.append(Hit(arxiv_id=rows[pid].arxiv_id, title=rows[pid].title,
                        score=round(score, 6),
                        snippet=highlight_snippet(rows[pid].abstract or rows[pid].title, []),
                        reasons=tuple(reasons)))
    return hits


@dataclass(slots=True)
class TextEvidence:
    """The text evidence about a paper's candidates: vector cosines (papers compared by
    meaning), TF-IDF cosines, and their weighted sum ``text`` that orders the shortlist."""

    cosine: dict[int, float]
    keyword: dict[int, float]
    text: dict[int, float]
    has_vector: bool


def fuse_text(cosine: dict[int, float], keyword: dict[int, float], *, has_vector: bool,
              params: SimilarParams, size: int,
              cosines_of: Callable[[list[int]], dict[int, float]]) -> TextEvidence:
    """Weighted text score of every candidate (``cosine`` is updated in place).

    Candidates found by words only whose score could still reach the ``size`` best get
    their cosine from ``cosines_of`` (paper ids -> cosine with the paper, for those with a
    vector). Pure apart from ``cosines_of``; the online path and the stored lists share it.
    """
    text = {pid: params.vector_weight * cos + params.keyword_weight * keyword.get(pid, 0.0)
            for pid, cos in cosine.items()}
    if has_vector and keyword:
        # A paper found by words only is no nearer in meaning than the farthest of the
        # vector candidates: fetch the vectors of those that could still make the shortlist.
        floor = params.vector_weight * min(cosine.values(), default=0.0)
        ranked = sorted(text.values(), reverse=True)
        bar = ranked[size - 1] if len(ranked) >= size else -math.inf
        missing = [pid for pid, kw in keyword.items() if pid not in text
                   and floor + params.keyword_weight * kw >= bar]
        cosine.update(cosines_of(missing))
    for pid, kw in keyword.items():
        if pid not in text:
            text[pid] = params.vector_weight * cosine.get(pid, 0.0) + params.keyword_weight * kw
    return TextEvidence(cosine, keyword, text, has_vector)


def _online_evidence(conn: Connection, source: Row[Any], params: SimilarParams, limit: int,
                     size: int) -> TextEvidence:
    own_id = int(source.id)
    depth = max(params.depth, limit + 5)
    cosine: dict[int, float] = {}
    vector: np.ndarray | None = None
    if source.embedding is not None and params.vector_weight:
        vector = decode_embedding(source.embedding)
        conditions = paper_conditions(SearchFilters(exclude_paper_ids=[own_id]))
        cosine = dict(backend_for(conn).vector_candidates(
            conn, vector, source.model_id, conditions, depth, narrowing=False))
    keyword = tfidf_neighbours(conn, source.title, source.abstract, exclude_id=own_id,
                               depth=depth, query_terms=params.query_terms) \
        if params.keyword_weight else {}

    def cosines_of(ids: list[int]) -> dict[int, float]:
        assert vector is not None
        return {pid: float(other @ vector)
                for pid, other in get_vectors(conn, ids, model_id=source.model_id).items()}

    return fuse_text(cosine, keyword, has_vector=vector is not None, params=params, size=size,
                     cosines_of=cosines_of)


def _stored_evidence(source: Row[Any], params: SimilarParams,
                     limit: int) -> TextEvidence | None:
    """The paper's stored list as evidence, or None when it cannot answer this request:
    no list, a list of another method or vector, other params, or a longer ``limit``."""
    if (source.neighbours is None or params != DEFAULT_SIMILAR or limit > STORED_LIMIT
            or source.list_method != STORED_METHOD or source.embedding is None
            or source.list_model != source.model_id or source.list_hash != source.text_hash):
        return None
    entries = unpack_neighbours(source.neighbours)
    cosine = {int(pid): float(cos) for pid, cos in zip(entries["id"], entries["cos"],
                                                       strict=True) if not math.isnan(cos)}
    keyword = {int(pid): float(kw) for pid, kw in zip(entries["id"], entries["kw"],
                                                      strict=True) if kw}
    text = {pid: params.vector_weight * cosine.get(pid, 0.0)
            + params.keyword_weight * keyword.get(pid, 0.0) for pid in entries["id"].tolist()}
    return TextEvidence(cosine, keyword, text, True)


def pack_neighbours(evidence: TextEvidence, count: int) -> bytes:
    """The ``count`` best candidates of ``evidence`` by text score (ties: lower id first)
    as the stored list's bytes."""
    best = sorted(evidence.text, key=lambda pid: (-evidence.text[pid], pid))[:count]
    entries = np.zeros(len(best), dtype=NEIGHBOUR)
    entries["id"] = best
    entries["cos"] = [evidence.cosine.get(pid, math.nan) for pid in best]
    entries["kw"] = [evidence.keyword.get(pid, 0.0) for pid in best]
    return entries.tobytes()


def unpack_neighbours(raw: bytes) -> np.ndarray:
    """A stored list's entries (``NEIGHBOUR`` records), best first."""
    return np.frombuffer(bytes(raw), dtype=NEIGHBOUR)


def _keywords(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        return []
    return [str(k) for k in value] if isinstance(value, list) else []


def _categories(conn: Connection, ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for start in range(0, len(ids), 500):
        for pid, category in conn.execute(
            select(paper_categories.c.paper_id, paper_categories.c.category)
            .where(paper_categories.c.paper_id.in_(ids[start:start + 500]))
        ):
            out.setdefault(int(pid), set()).add(category)
    return out


def _covotes(conn: Connection, own_id: int, ids: list[int]) -> dict[int, int]:
    """Candidates -> number of users who upvoted or saved both them and ``own_id``."""
    if not ids:
        return {}
    saved = select(collections.c.user_id.label("user_id"), collection_items.c.paper_id).join(
        collections, collections.c.id == collection_items.c.collection_id)
    liked = select(votes.c.user_id, votes.c.paper_id).union(saved).subquery()
    readers = select(liked.c.user_id).where(liked.c.paper_id == own_id)
    out: dict[int, int] = {}
    for pid, count in conn.execute(
        select(liked.c.paper_id, func.count(func.distinct(liked.c.user_id)))
        .where(liked.c.user_id.in_(readers), liked.c.paper_id.in_(ids))
        .group_by(liked.c.paper_id)
    ):
        out[int(pid)] = int(count)
    return out
