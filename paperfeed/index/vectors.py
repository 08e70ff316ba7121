"""Vector upkeep and lookup: which papers need (re-)embedding, embedding them, reading vectors.

Upkeep is pull-based and idempotent: ``index_missing`` embeds every paper whose vector is
missing, was made by another model, or was made from text that has changed since (hash of
title + abstract), in batches that each commit, so an interrupted run resumes where it
stopped.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select

from paperfeed.index.backend import backend_for
from paperfeed.index.embedder import Embedder
from paperfeed.index.schema import paper_vectors
from paperfeed.index.text import embedding_text, text_hash
from paperfeed.store.database import dialect, write_transaction
from paperfeed.store.schema import papers

Progress = Callable[..., None]
_CHUNK = 500


@dataclass(slots=True)
class IndexSummary:
    """What one ``index_missing`` run did."""

    papers: int = 0  # papers in the database
    embedded: int = 0  # vectors written in this run
    up_to_date: int = 0  # vectors already current
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"papers": self.papers, "embedded": self.embedded, "up_to_date": self.up_to_date,
                "seconds": round(self.seconds, 1), "per_second": round(self.per_second, 1)}


def stale_papers(conn: Connection, model_id: str) -> tuple[list[tuple[int, str, str]], int]:
    """Papers needing a vector from ``model_id`` as (id, text, hash), newest first, and
    the number of papers whose vector is current."""
    rows = conn.execute(
        select(papers.c.id, papers.c.title, papers.c.abstract, paper_vectors.c.model_id,
               paper_vectors.c.text_hash)
        .outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
        .order_by(papers.c.id.desc())
    )
    todo: list[tuple[int, str, str]] = []
    current = 0
    for pid, title, abstract, vec_model, vec_hash in rows:
        text = embedding_text(title, abstract)
        digest = text_hash(text)
        if vec_model == model_id and vec_hash == digest:
            current += 1
        else:
            todo.append((int(pid), text, digest))
    return todo, current


def index_missing(engine: Engine, embedder: Embedder, *, batch_size: int = 256,
                  progress: Progress | None = None, limit: int | None = None) -> IndexSummary:
    """Embed every paper whose vector is missing or stale; returns counts and speed.

    Input: an engine (each batch is its own write transaction, so the work is resumable)
    and an Embedder. ``limit`` caps how many papers this run embeds. Side effects: rows in
    paper_vectors inserted or replaced; progress(done, total) after each batch.
    """
    start = time.perf_counter()
    with engine.connect() as conn:
        todo, current = stale_papers(conn, embedder.model_id)
    if limit is not None:
        todo = todo[:limit]
    summary = IndexSummary(papers=len(todo) + current, up_to_date=current)
    if progress:
        progress(0, len(todo))
    for offset in range(0, len(todo), batch_size):
        batch = todo[offset:offset + batch_size]
        vectors = embedder.embed([text for _, text, _ in batch])
        with write_transaction(engine) as conn:
            store_vectors(conn, [(pid, digest) for pid, _, digest in batch], vectors,
                          embedder.model_id)
        summary.embedded += len(batch)
        if progress:
            progress(summary.embedded, len(todo))
    summary.seconds = time.perf_counter() - start
    return summary


def store_vectors(conn: Connection, keys: list[tuple[int, str]], vectors: np.ndarray,
                  model_id: str) -> None:
    """Insert or replace the vectors of papers ``keys`` = [(paper id, text hash)].

    Side effects: paper_vectors rows; on SQLite the generation trigger fires, so every
    process reloads its in-memory matrix on its next query.
    """
    backend = backend_for(conn)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {"paper_id": pid, "model_id": model_id, "text_hash": digest,
         "embedding": backend.encode_embedding(vector), "embedded_at": now}
        for (pid, digest), vector in zip(keys, vectors, strict=True)
    ]
    if not rows:
        return
    insert = dialect(conn).insert(paper_vectors)
    stmt = insert.on_conflict_do_update(
        index_elements=[paper_vectors.c.paper_id],
        set_={c: insert.excluded[c] for c in ("model_id", "text_hash", "embedding",
                                              "embedded_at")},
    )
    conn.execute(stmt, rows)


def get_vectors(
    conn: Connection, paper_ids: list[int], *, model_id: str | None = None
) -> dict[int, np.ndarray]:
    """Stored vectors (float32, unit length) by paper id; papers without one are absent.
    With ``model_id``, only vectors made by that model (others count as absent)."""
    out: dict[int, np.ndarray] = {}
    ids = list(dict.fromkeys(int(i) for i in paper_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        query = select(paper_vectors.c.paper_id, paper_vectors.c.embedding).where(
            paper_vectors.c.paper_id.in_(chunk)
        )
        if model_id is not None:
            query = query.where(paper_vectors.c.model_id == model_id)
        for pid, value in conn.execute(query):
            out[int(pid)] = decode_embedding(value)
    return out


def decode_embedding(value: Any) -> np.ndarray:
    """A stored embedding (SQLite blob, or PostgreSQL value already parsed) as float32."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(value), dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def vector_counts(conn: Connection) -> dict[str, int]:
    """Number of vectors per model id."""
    return {
        str(model): int(n)
        for model, n in conn.execute(
            select(paper_vectors.c.model_id, func.count()).group_by(paper_vectors.c.model_id)
        )
    }


def has_vectors(conn: Connection, model_id: str) -> bool:
    """True when at least one paper has a vector from ``model_id``."""
    return conn.execute(
        select(paper_vectors.c.paper_id).where(paper_vectors.c.model_id == model_id).limit(1)
    ).first() is not None
