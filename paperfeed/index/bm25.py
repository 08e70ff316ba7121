"""The keyword arm over the BM25 postings: the best papers for a query's words, with the
"phrases" required and the -excluded words left out as the database's full-text index says.

Called by both search backends (index/sqlite_backend.py, index/postgres_backend.py), each
handing in its own full-text matcher and text-change stamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from sqlalchemy import ColumnElement, Connection, select

from paperfeed.index.postings import top_rows
from paperfeed.index.terms import TextChanges, term_index
from paperfeed.index.text import keyword_terms
from paperfeed.index.tokens import query_stems
from paperfeed.store.schema import papers


class FulltextIds(Protocol):
    """A backend's ``fulltext_ids``: ids of the papers with every (or any) of ``phrases``."""

    def __call__(self, conn: Connection, phrases: list[list[str]], *, every: bool,
                 among: list[int] | None = None) -> np.ndarray: ...


def keyword_candidates(conn: Connection, words: list[str], phrases: list[list[str]],
                       excluded: list[list[str]], conditions: list[ColumnElement[bool]],
                       limit: int, *, narrowing: bool, fulltext_ids: FulltextIds,
                       text_changes: TextChanges) -> list[tuple[int, float]] | None:
    """The keyword arm over the postings: BM25 of the words and the phrases' words, the
    "phrases" required and the -excluded words left out as the database's full-text index
    says (``fulltext_ids(conn, phrases, every=...)``). None when no word has postings (a
    query of stopwords only): the caller asks its full-text index instead.
    ``text_changes`` is the backend's stamp that keeps the postings fresh (term_index)."""
    stems = query_stems(keyword_terms(words) + [w for p in phrases for w in p])
    if not stems:
        return None
    return bm25_candidates(
        conn, stems, conditions, limit, narrowing=narrowing, text_changes=text_changes,
        must=fulltext_ids(conn, phrases, every=True) if phrases else None,
        must_not=fulltext_ids(conn, excluded, every=False) if excluded else None,
    )


def bm25_candidates(conn: Connection, query: Sequence[str],
                    conditions: list[ColumnElement[bool]], limit: int, *, narrowing: bool,
                    text_changes: TextChanges, must: np.ndarray | None = None,
                    must_not: np.ndarray | None = None) -> list[tuple[int, float]]:
    """(paper id, BM25) of the ``limit`` best papers for the stems ``query``.

    ``must``: ids of which one is required (phrase matches; they qualify even when no other
    word occurs); ``must_not``: ids excluded. With ``narrowing`` filters the ids passing
    ``conditions`` are selected first and masked in; otherwise the top hits are checked
    against ``conditions`` afterwards (only hidden papers can fail, and they are few).
    """
    if limit <= 0:
        return []
    index = term_index(conn, text_changes)
    scores = index.scores(query)
    if scores is None:
        if must is None:
            return []
        scores = np.zeros(len(index.ids), dtype=np.float32)
    mask: np.ndarray | None = None
    if must is not None:
        mask = np.isin(index.ids, must)
        scores = np.where(mask, np.maximum(scores, np.float32(1e-9)), scores)
    if must_not is not None and len(must_not):
        keep = ~np.isin(index.ids, must_not)
        mask = keep if mask is None else mask & keep
    if narrowing:
        allowed = np.fromiter(conn.execute(select(papers.c.id).where(*conditions)).scalars(),
                              dtype=np.int64)
        keep = np.isin(index.ids, allowed)
        mask = keep if mask is None else mask & keep
    rows = top_rows(scores, index.ids, limit + (0 if narrowing else 16), mask)
    candidate_ids = [int(i) for i in index.ids[rows]]
    if not candidate_ids:
        return []
    visible = candidate_ids if narrowing else set(conn.execute(
        select(papers.c.id).where(papers.c.id.in_(candidate_ids), *conditions)).scalars())
    visible = set(visible)
    out = [(pid, float(scores[row])) for pid, row in zip(candidate_ids, rows, strict=True)
           if pid in visible]
    return out[:limit]
