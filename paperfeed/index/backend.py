"""The search index's database boundary: one ``SearchBackend`` protocol, one implementation
per database (the modules index/sqlite_backend.py and index/postgres_backend.py, which mypy
checks against it), and ``backend_for(conn)`` to pick one.

Everything rank/ and the rest of index/ ask of a database's search index goes through
here: keyword and vector candidates, which papers contain some words or phrases, how a
vector is bound for storing, and the stamp that tells the in-memory BM25 postings that
papers' text changed.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sqlalchemy import ColumnElement, Connection

from paperfeed.index import postgres_backend, sqlite_backend


class SearchBackend(Protocol):
    """The search index of one database (SQLite: FTS5 + an in-memory vector matrix;
    PostgreSQL: tsvector + pgvector HNSW). Functions read only; none commits."""

    @property
    def NAME(self) -> str:
        """The SQLAlchemy dialect name: "sqlite" or "postgresql"."""
        ...

    def keyword_candidates(self, conn: Connection, terms: list[str], phrases: list[list[str]],
                           excluded: list[list[str]], conditions: list[ColumnElement[bool]],
                           limit: int, *, narrowing: bool = True) -> list[tuple[int, float]]:
        """(paper id, BM25 score, higher is better) of the ``limit`` best keyword matches
        passing ``conditions``: "phrases" required, -excluded words left out."""
        ...

    def fulltext_ids(self, conn: Connection, phrases: list[list[str]], *, every: bool,
                     among: list[int] | None = None) -> np.ndarray:
        """Ids (int64) of the papers (of ``among``, if given) whose text has every (or any)
        of ``phrases`` (lists of words), as the database's full-text index says."""
        ...

    def matching_ids(self, conn: Connection, any_of: list[list[str]],
                     paper_ids: list[int]) -> set[int]:
        """Which of ``paper_ids`` contain any of the words/phrases ``any_of``."""
        ...

    def vector_candidates(self, conn: Connection, query: np.ndarray, model_id: str,
                          conditions: list[ColumnElement[bool]], limit: int, *,
                          narrowing: bool) -> list[tuple[int, float]]:
        """(paper id, cosine similarity) of the ``limit`` nearest papers passing
        ``conditions`` among the vectors made by ``model_id``."""
        ...

    def encode_embedding(self, vector: np.ndarray) -> bytes | np.ndarray:
        """A vector as the paper_vectors.embedding column binds it."""
        ...

    def text_changes(self, conn: Connection) -> int:
        """A counter that moves whenever papers' text is updated or deleted (and, where new
        papers may take smaller ids than old ones, inserted): migration 0005_terms."""
        ...


def backend_for(conn: Connection) -> SearchBackend:
    """The search index implementation for ``conn``'s database."""
    return postgres_backend if conn.dialect.name == "postgresql" else sqlite_backend
