"""Search: keyword (BM25) and semantic (vector) candidates, fused, filtered, explained.

``search_papers`` is the one entry point for the web pages, the JSON API, the CLI and the
evaluation harness. Both arms apply the same filters (category, dates, author, never
hidden); while a database has no vectors for the embedder's model, hybrid search falls
back to keyword search and says so in ``message``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from sqlalchemy import Connection, Engine, select

from paperfeed.index.backend import SearchBackend, backend_for
from paperfeed.index.embedder import Embedder
from paperfeed.index.text import keyword_terms
from paperfeed.index.vectors import has_vectors
from paperfeed.models import Hit
from paperfeed.rank.filters import SearchFilters, paper_conditions
from paperfeed.rank.fusion import Fused, FusionParams, fuse
from paperfeed.rank.query import ParsedQuery, parse_query
from paperfeed.rank.snippets import QueryMatcher, highlight_snippet
from paperfeed.store.schema import papers

if TYPE_CHECKING:
    from paperfeed.config import Settings

Mode = Literal["hybrid", "keyword", "semantic"]
MODES = ("hybrid", "keyword", "semantic")
MAX_LIMIT = 100
MAX_OFFSET = 1000
# Chosen on the SciFact train split (docs/search.md, bench/tune_fusion.py): min-max
# fusion leaning 60/40 to keywords, 100 candidates per arm (plain RRF: -0.027 nDCG@10).
DEFAULT_FUSION = FusionParams(method="minmax", keyword_weight=0.6, semantic_weight=0.4,
                              depth=100)


@dataclass(slots=True)
class SearchResults:
    """One page of results.

    ``total`` counts the results there are to page through (fused candidates, so at most
    a few hundred); ``paper_ids`` are the database ids of ``hits`` in order; ``mode`` is
    the mode actually used; ``message`` is for the user (fallbacks, ignored parts).
    """

    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    paper_ids: list[int] = field(default_factory=list)
    query: ParsedQuery = field(default_factory=ParsedQuery)
    mode: str = "hybrid"
    offset: int = 0
    limit: int = 20
    redirect_arxiv_id: str | None = None
    message: str | None = None


def search_papers(
    conn: Connection,
    query: str,
    *,
    embedder: Embedder | None = None,
    limit: int = 20,
    offset: int = 0,
    mode: str = "hybrid",
    category: str | list[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    author: str | None = None,
    fusion: FusionParams = DEFAULT_FUSION,
) -> SearchResults:
    """Search papers by keywords and meaning; never raises on any query text.

    Inputs: the query in the search-box language (see rank/query.py), an Embedder for the
    semantic arm (None = keyword only), a page (limit <= 100, offset <= 1000), the mode
    ("hybrid", "keyword" or "semantic") and filters that add to those in the query.
    Output: SearchResults; ``redirect_arxiv_id`` is set when the query is the id or URL of
    a paper in the database. Side effects: none (reads only; caches query embeddings).
    """
    parsed = parse_query(query)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    mode = mode if mode in MODES else "hybrid"
    results = SearchResults(query=parsed, mode=mode, offset=offset, limit=limit)
    notes = list(parsed.warnings)
    filters = _filters(parsed, category, date_from, date_to, author)
    conditions = paper_conditions(filters)
    if parsed.arxiv_id:
        row = conn.execute(
            select(papers.c.id).where(papers.c.arxiv_id == parsed.arxiv_id, *conditions)
        ).first()
        if row is not None:
            results.redirect_arxiv_id = parsed.arxiv_id
            _fill(conn, results, [Fused(int(row[0]), 1.0)], parsed, ("arXiv id",))
            return results
        notes.append(f"arXiv:{parsed.arxiv_id} is not in this database")
    if not parsed.has_text:
        if filters.narrowing:
            return _newest(conn, results, conditions, notes)
        results.message = "; ".join(notes + ["type some words to search"])
        return results
    backend = backend_for(conn)
    depth = max(fusion.depth, offset + limit)
    keyword: list[tuple[int, float]] = []
    semantic: list[tuple[int, float]] = []
    if mode in ("keyword", "hybrid"):
        keyword = backend.keyword_candidates(conn, parsed.terms, parsed.phrases,
                                             parsed.excluded, conditions, depth,
                                             narrowing=filters.narrowing)
    if mode in ("semantic", "hybrid"):
        if embedder is None or not has_vectors(conn, embedder.model_id):
            notes.append("meaning-based search is not available yet (papers not indexed); "
                         "showing keyword matches")
            results.mode = "keyword"
            if mode == "semantic":
                keyword = backend.keyword_candidates(conn, parsed.terms, parsed.phrases,
                                                     parsed.excluded, conditions, depth,
                                                     narrowing=filters.narrowing)
        else:
            vector = embed_query(embedder, parsed.text)
            semantic = backend.vector_candidates(conn, vector, embedder.model_id, conditions,
                                                 depth, narrowing=filters.narrowing)
            semantic = _drop_excluded(conn, backend, parsed, semantic)
            if parsed.phrases:
                semantic = _keep_phrases(conn, backend, parsed, semantic)
    fused = fuse(keyword, semantic, fusion)
    results.total = len(fused)
    _fill(conn, results, fused[offset:offset + limit], parsed, ())
    if not fused:
        notes.append("no papers match")
    results.message = "; ".join(notes) or None
    return results


def _filters(parsed: ParsedQuery, category: str | list[str] | None, date_from: dt.date | None,
             date_to: dt.date | None, author: str | None) -> SearchFilters:
    categories = list(parsed.categories)
    if isinstance(category, str) and category:
        categories.append(category)
    elif isinstance(category, list):
        categories.extend(c for c in category if c)
    authors = list(parsed.authors)
    if author:
        folded = " ".join(parse_query(f'author:"{author}"').authors)
        if folded:
            authors.append(folded)
    start = max((d for d in (parsed.date_from, date_from) if d), default=None)
    end = min((d for d in (parsed.date_to, date_to) if d), default=None)
    return SearchFilters(categories=categories, authors=authors, date_from=start, date_to=end)


def _drop_excluded(conn: Connection, backend: SearchBackend, parsed: ParsedQuery,
                   ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """-excluded words apply to the semantic arm too."""
    if not parsed.excluded or not ranked:
        return ranked
    bad = backend.matching_ids(conn, parsed.excluded, [p for p, _ in ranked])
    return [(p, s) for p, s in ranked if p not in bad]


def _keep_phrases(conn: Connection, backend: SearchBackend, parsed: ParsedQuery,
                  ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """"Quoted phrases" are required in the semantic arm too."""
    ids = [p for p, _ in ranked]
    for phrase in parsed.phrases:
        ok = backend.matching_ids(conn, [phrase], ids)
        ids = [p for p in ids if p in ok]
    keep = set(ids)
    return [(p, s) for p, s in ranked if p in keep]


def _newest(conn: Connection, results: SearchResults, conditions: list,
            notes: list[str]) -> SearchResults:
    """A filter-only query (e.g. ``cat:cs.CV year:2025``): matching papers, newest first."""
    rows = conn.execute(
        select(papers.c.id).where(*conditions)
        .order_by(papers.c.announced_on.desc(), papers.c.id.desc())
        .limit(results.offset + results.limit + 1)
    ).scalars().all()
    page = [Fused(int(pid), 0.0) for pid in rows[results.offset:results.offset + results.limit]]
    results.total = len(rows)
    _fill(conn, results, page, results.query, ("matches the filters",))
    results.message = "; ".join(notes + ["no words given: newest papers matching the filters"])
    return results


def _fill(conn: Connection, results: SearchResults, page: list[Fused], parsed: ParsedQuery,
          extra_reasons: tuple[str, ...]) -> None:
    """Turn fused ids into Hits with snippets and reasons, in order."""
    ids = [f.paper_id for f in page]
    rows = {
        r.id: r for r in conn.execute(
            select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract,
                   papers.c.authors_text).where(papers.c.id.in_(ids))
        )
    } if ids else {}
    matcher = QueryMatcher(keyword_terms(parsed.highlight_words))
    for item in page:
        row = rows.get(item.paper_id)
        if row is None:
            continue
        reasons = list(extra_reasons) + explain(item, matcher, row.title, row.abstract,
                                                 row.authors_text)
        results.hits.append(Hit(
            arxiv_id=row.arxiv_id, title=row.title, score=round(float(item.score), 6),
            snippet=highlight_snippet(row.abstract or row.title, matcher),
            reasons=tuple(reasons),
        ))
        results.paper_ids.append(item.paper_id)
    results.total = max(results.total, results.offset + len(results.hits))


def explain(item: Fused, matcher: QueryMatcher, title: str, abstract: str,
            authors_text: str) -> list[str]:
    """Why a paper matched, in words for people: the fields the query words were found
    in, and how close in meaning it is."""
    reasons: list[str] = []
    if item.keyword_rank is not None:
        fields = [name for name, value in (("title", title), ("abstract", abstract),
                                           ("authors", authors_text))
                  if matcher.matches(value)]
        found = matcher.found_words(f"{title} {abstract} {authors_text}")
        where = " and ".join(fields) if fields else "text"
        reasons.append(f"keywords in {where}: {', '.join(found[:6])}" if found
                       else f"keywords in {where}")
    if item.semantic_rank is not None and item.semantic_score is not None:
        reasons.append(f"similar in meaning (cosine {item.semantic_score:.2f})")
    return reasons


def warm_up(engine: Engine, settings: Settings) -> threading.Thread:
    """Build this process's in-memory search copies (BM25 postings, vector matrix, query
    model) in a background thread, so that the first visitor does not wait for them
    (57,852 papers: ~5 s). The postings, when no saved set of the current stamp exists,
    are tokenised by a child process (index/term_builder.py: seconds of pure Python
    would starve this server's requests of the GIL) and mapped here. Errors are logged,
    never raised: search builds lazily anyway."""
    def run() -> None:
        from paperfeed.index.embedder import load_embedder
        from paperfeed.index.term_builder import build_saved_terms
        from paperfeed.index.terms import has_current_saved_set, term_index

        try:
            with engine.connect() as conn:
                if not has_current_saved_set(conn):
                    build_saved_terms(engine)
                term_index(conn)
                search_papers(conn, "warm up", embedder=load_embedder(settings), limit=1)
        except Exception:  # a warm-up must never take the server down
            logging.getLogger(__name__).exception("search warm-up failed")

    thread = threading.Thread(target=run, name="paperfeed-search-warm-up", daemon=True)
    thread.start()
    return thread


_QUERY_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_QUERY_CACHE_SIZE = 1024
_QUERY_LOCK = threading.Lock()


def embed_query(embedder: Embedder, text: str) -> np.ndarray:
    """The query's vector, from a small per-process LRU cache (repeated queries and
    pagination do not pay for the model again)."""
    key = (embedder.model_id, text)
    with _QUERY_LOCK:
        if key in _QUERY_CACHE:
            _QUERY_CACHE.move_to_end(key)
            return _QUERY_CACHE[key]
    vector = embedder.embed([text])[0]
    with _QUERY_LOCK:
        _QUERY_CACHE[key] = vector
        while len(_QUERY_CACHE) > _QUERY_CACHE_SIZE:
            _QUERY_CACHE.popitem(last=False)
    return vector
