"""Similar papers: nearest neighbours by meaning of a paper's stored vector.

Fast enough to be live (SQLite: exact search over the in-memory matrix; PostgreSQL: the
HNSW index), so nothing is precomputed. A paper without a vector yet gets keyword
neighbours from its title instead.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from paperfeed.index.schema import paper_vectors
from paperfeed.index.vectors import backend_for, decode_embedding
from paperfeed.ingest.normalize import parse_arxiv_id
from paperfeed.models import Hit
from paperfeed.rank.filters import SearchFilters, paper_conditions
from paperfeed.rank.query import parse_query
from paperfeed.rank.snippets import highlight_snippet
from paperfeed.store.schema import papers

MAX_LIMIT = 100


def similar_papers(conn: Connection, arxiv_id: str, *, limit: int = 10) -> list[Hit]:
    """Up to ``limit`` papers closest in meaning to ``arxiv_id``, best first.

    Input: an arXiv id (any version, or an arXiv/HF URL). Output: Hits with the cosine
    similarity as score and a reason; the paper itself, duplicates of it (same title) and
    hidden papers are excluded; unknown ids give []. Side effects: none.
    """
    parsed = parse_arxiv_id(arxiv_id or "")
    key = parsed[0] if parsed else (arxiv_id or "").strip()
    limit = max(1, min(int(limit), MAX_LIMIT))
    source = conn.execute(
        select(papers.c.id, papers.c.title, papers.c.authors_text, paper_vectors.c.model_id,
               paper_vectors.c.embedding)
        .outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
        .where(papers.c.arxiv_id == key)
    ).first()
    if source is None:
        return []
    backend = backend_for(conn)
    conditions = paper_conditions(SearchFilters(exclude_paper_ids=[int(source.id)]))
    depth = limit + 5
    if source.embedding is not None:
        vector = decode_embedding(source.embedding)
        ranked = backend.vector_candidates(conn, vector, source.model_id, conditions, depth,
                                           narrowing=False)
        reason = "similar in meaning (cosine {:.2f})"
    else:
        words = parse_query(source.title)
        ranked = backend.keyword_candidates(conn, words.terms, [], [], conditions, depth)
        reason = "shares title words (not indexed by meaning yet)"
    return _hits(conn, ranked, source.title, source.authors_text, reason, limit)


def _hits(conn: Connection, ranked: list[tuple[int, float]], title: str, authors_text: str,
          reason: str, limit: int) -> list[Hit]:
    ids = [pid for pid, _ in ranked]
    if not ids:
        return []
    rows = {r.id: r for r in conn.execute(
        select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract,
               papers.c.authors_text).where(papers.c.id.in_(ids))
    )}
    own_title = " ".join(title.casefold().split())
    own_authors = {a.strip() for a in (authors_text or "").split(",") if a.strip()}
    hits: list[Hit] = []
    for pid, score in ranked:
        row = rows.get(pid)
        if row is None or " ".join(row.title.casefold().split()) == own_title:
            continue
        reasons = [reason.format(score)]
        shared = [a for a in (row.authors_text or "").split(",") if a.strip() in own_authors]
        if shared:
            reasons.append("shares authors: " + ", ".join(a.strip() for a in shared[:3]))
        hits.append(Hit(arxiv_id=row.arxiv_id, title=row.title, score=round(float(score), 6),
                        snippet=highlight_snippet(row.abstract or row.title, []),
                        reasons=tuple(reasons)))
        if len(hits) >= limit:
            break
    return hits
