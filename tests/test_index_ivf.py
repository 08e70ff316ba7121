"""The IVF index used for large in-memory vector matrices (SQLite at scale)."""

from __future__ import annotations

import numpy as np

from paperfeed.index import sqlite_backend
from paperfeed.index.ivf import build_ivf, list_count, search_ivf


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    x = centres[rng.integers(0, 40, n)] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_finds_the_exact_neighbours_most_of_the_time():
    x = clustered(20_000)
    order, lists = build_ivf(x, nlist=64)
    permuted = x[order]
    assert sorted(order.tolist()) == list(range(len(x)))
    assert lists.offsets[-1] == len(x) and len(lists.centroids) == 64
    rng = np.random.default_rng(1)
    recalls = []
    for _ in range(30):
        q = x[rng.integers(0, len(x))]
        exact = set(np.argsort(-(permuted @ q))[:10].tolist())
        rows, scores = search_ivf(permuted, lists, q, 10, nprobe=8)
        assert list(scores) == sorted(scores, reverse=True)
        recalls.append(len(exact & set(rows.tolist())) / 10)
    assert np.mean(recalls) >= 0.9


def test_list_count_grows_with_rows():
    assert list_count(1_000_000) == 1024 and list_count(10) == 16


def test_sqlite_search_uses_ivf_for_large_matrices(engine, db_kind, monkeypatch):
    if db_kind != "sqlite":
        return  # PostgreSQL searches its HNSW index instead
    from paperfeed.rank.search import search_papers

    from .search_corpus import load_search_corpus

    monkeypatch.setattr(sqlite_backend, "IVF_MIN_ROWS", 5)
    sqlite_backend.forget_matrices()
    embedder = load_search_corpus(engine)
    with engine.connect() as conn:
        results = search_papers(conn, "hubness captions", embedder=embedder, mode="semantic")
        matrix = sqlite_backend.vector_matrix(conn, embedder.model_id)
    assert matrix.lists is not None
    assert results.hits[0].arxiv_id == "2501.00001"
    sqlite_backend.forget_matrices()
