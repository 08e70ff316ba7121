"""The int8 scan gives exactly the float32 scan's top rows and scores."""

from __future__ import annotations

import numpy as np
import pytest

from paperfeed.index.vector_scan import Int8Rows, top_rows


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((40, 64)).astype(np.float32)
    matrix = centers[rng.integers(0, 40, 3000)] + rng.standard_normal((3000, 64)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return rng, matrix, Int8Rows(matrix)


def _exact(matrix, query, depth, allowed=None):
    scores = matrix @ query
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    order = np.argsort(-scores, kind="stable")[:depth]
    return order[np.isfinite(scores[order])], scores


@pytest.mark.parametrize("depth", [1, 10, 116, 3000])
def test_int8_scan_equals_float32_scan(clustered, depth):
    rng, matrix, int8 = clustered
    for _ in range(20):
        query = matrix[rng.integers(len(matrix))] + 0.5 * rng.standard_normal(64).astype(np.float32)
        query /= np.linalg.norm(query)
        rows, scores = top_rows(matrix, query, depth, int8=int8)
        expected, all_scores = _exact(matrix, query, depth)
        assert len(rows) == len(expected) == min(depth, len(matrix))
        # The same scores, best first; the same rows wherever scores are not tied.
        np.testing.assert_allclose(scores, all_scores[expected], rtol=0, atol=1e-6)
        assert np.all(np.diff(scores) <= 0)
        np.testing.assert_allclose(scores, matrix[rows] @ query, rtol=0, atol=1e-6)
        approx, bound = int8.scores(query)
        assert np.abs(approx - all_scores).max() <= bound


def test_allowed_rows_only_and_few_allowed(clustered):
    rng, matrix, int8 = clustered
    query = matrix[5]
    for fraction in (0.9, 0.5, 0.05, 0.0):
        allowed = rng.random(len(matrix)) < fraction
        rows, scores = top_rows(matrix, query, 50, int8=int8, allowed=allowed)
        expected, all_scores = _exact(matrix, query, 50, allowed)
        assert allowed[rows].all() and len(rows) == len(expected)
        np.testing.assert_allclose(scores, all_scores[expected], rtol=0, atol=1e-6)
    rows, _ = top_rows(matrix, query, 5)
    assert rows[0] == 5  # float32 path, no int8 copy


def test_zero_query_and_zero_rows():
    matrix = np.zeros((10, 8), dtype=np.float32)
    matrix[3, 0] = 1.0
    int8 = Int8Rows(matrix)
    rows, scores = top_rows(matrix, np.zeros(8, dtype=np.float32), 3, int8=int8)
    assert len(rows) == 3 and np.all(scores == 0)
    rows, scores = top_rows(matrix, np.eye(8, dtype=np.float32)[0], 1, int8=int8)
    assert list(rows) == [3] and scores[0] == 1.0
