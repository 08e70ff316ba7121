"""Exact top-k of a query against an in-memory matrix of vectors, scanned in int8 first.

A float32 matrix of 57,852 x 384 vectors is 89 MB: one matrix-vector product reads all of it
and is bound by memory bandwidth. ``Int8Rows`` keeps an int8 copy (a quarter of the bytes,
one scale per row) that ONNX Runtime multiplies with an int8 query (``MatMulInteger``, VNNI
instructions where the CPU has them, weights pre-packed once); ``top_rows`` then re-scores
in float32 every row that could still be among the best, using a bound on the int8 error,
so the result is exactly that of a float32 scan: same rows, same float32 scores.

Why the bound holds: with ``q = sq*q8 + eq`` and ``r = sr*r8 + er``,
``|q.r - sq*sr*(q8.r8)| <= |eq|*|r| + |sq*q8|*|er|``; a row whose approximate score plus that
bound is below the ``depth``-th best exact score cannot be in the top ``depth``.
"""

from __future__ import annotations

import numpy as np

# Below this many rows a float32 scan is already well under a millisecond.
INT8_MIN_ROWS = 20_000
# Rows re-scored in float32 at least, beyond ``depth`` (most queries need no more).
_MARGIN = 64


class Int8Rows:
    """An int8 copy of a float32 matrix (one scale per row) and an ONNX Runtime session that
    multiplies it with a query."""

    def __init__(self, matrix: np.ndarray) -> None:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        matrix = np.asarray(matrix, dtype=np.float32)
        n, dim = matrix.shape
        peak = np.abs(matrix).max(axis=1)
        self.scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        quantized = np.rint(matrix / self.scales[:, None]).clip(-127, 127).astype(np.int8)
        residual = matrix - quantized.astype(np.float32) * self.scales[:, None]
        self.row_norm = float(np.linalg.norm(matrix, axis=1).max(initial=0.0))
        self.residual_norm = float(np.linalg.norm(residual, axis=1).max(initial=0.0))
        self.dim = dim
        weights = numpy_helper.from_array(np.ascontiguousarray(quantized.T), "rows")
        zero = numpy_helper.from_array(np.array(128, dtype=np.uint8), "zero")
        graph = helper.make_graph(
            [helper.make_node("MatMulInteger", ["query", "rows", "zero"], ["dots"])], "scan",
            [helper.make_tensor_value_info("query", TensorProto.UINT8, [1, dim])],
            [helper.make_tensor_value_info("dots", TensorProto.INT32, [1, n])],
            [weights, zero],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # memory-bound; a second thread only adds waiting
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model.SerializeToString(), options,
                                            providers=["CPUExecutionProvider"])

    def scores(self, query: np.ndarray) -> tuple[np.ndarray, float]:
        """Approximate ``matrix @ query`` (float32) and the bound on each score's error."""
        query = np.asarray(query, dtype=np.float32)
        peak = float(np.abs(query).max(initial=0.0))
        scale = peak / 127.0 if peak > 0 else 1.0
        q8 = np.rint(query / scale).clip(-127, 127)
        error = float(np.linalg.norm(query - q8 * scale))
        dots = self.session.run(None, {"query": (q8 + 128).astype(np.uint8)[None, :]})[0][0]
        approx = dots.astype(np.float32) * (self.scales * np.float32(scale))
        bound = error * self.row_norm + float(np.linalg.norm(q8)) * scale * self.residual_norm
        return approx, bound * 1.001 + 1e-6  # float32 rounding of the products


def top_rows(matrix: np.ndarray, query: np.ndarray, depth: int, *,
             int8: Int8Rows | None = None,
             allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the ``depth`` best ``matrix @ query`` scores, best first, and the scores.

    ``allowed`` (a boolean mask over the rows) leaves the other rows out. With ``int8`` the
    scan is int8 and the candidates are re-scored in float32 (see the module docstring);
    the rows and scores are those of the float32 scan either way (ties aside).
    """
    query = np.asarray(query, dtype=np.float32)
    if allowed is not None and (int8 is None or 4 * int(allowed.sum()) < len(allowed)):
        # Few rows allowed (a narrowing filter): float32 over those rows only.
        rows = np.flatnonzero(allowed)
        return _best(rows, matrix[rows] @ query, depth)
    if int8 is None:
        scores = matrix @ query
        return _best(np.arange(len(scores)), scores, depth)
    approx, bound = int8.scores(query)
    if allowed is not None:
        approx[~allowed] = -np.inf
    first = min(len(approx), depth + _MARGIN)
    rows = np.argpartition(approx, len(approx) - first)[len(approx) - first:]
    rows = rows[np.isfinite(approx[rows])]
    exact = matrix[rows] @ query
    if len(rows) >= depth > 0:
        threshold = np.partition(exact, len(exact) - depth)[len(exact) - depth]
        # Any row that might beat the depth-th exact score: re-score those too.
        more = np.flatnonzero(approx + bound >= threshold)
        if len(more) > len(rows) or not np.isin(more, rows).all():
            rows = np.union1d(rows, more)
            exact = matrix[rows] @ query
    return _best(rows, exact, depth)


def _best(rows: np.ndarray, scores: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(scores)
    rows, scores = rows[keep], scores[keep]
    if depth < len(scores):
        part = np.argpartition(scores, len(scores) - depth)[len(scores) - depth:]
        rows, scores = rows[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return rows[order], scores[order]
