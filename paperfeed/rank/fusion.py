"""Fusing ranked lists: keyword (BM25) and semantic (cosine) candidates into one ranking.

Two methods, chosen and tuned on the SciFact *train* split (see docs/search.md):

- ``"rrf"``: weighted reciprocal rank fusion, sum of w / (k + rank);
- ``"minmax"``: each list's scores scaled to [0, 1] by its own min and max, then a
  weighted sum (a paper missing from a list gets 0 from it);
- ``"zscore"``: like minmax, but scaled by the list's mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

Ranked = list[tuple[int, float]]  # (paper id, score), best first


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How the two arms combine, and how deep each arm looks."""

    method: str = "minmax"  # "minmax" | "zscore" | "rrf"
    keyword_weight: float = 0.5
    semantic_weight: float = 0.5
    rrf_k: float = 60.0
    depth: int = 100  # candidates per arm


@dataclass(slots=True)
class Fused:
    """One fused result and what each arm said about it."""

    paper_id: int
    score: float
    keyword_rank: int | None = None  # 1-based
    keyword_score: float | None = None
    semantic_rank: int | None = None
    semantic_score: float | None = None


def fuse(keyword: Ranked, semantic: Ranked, params: FusionParams = FusionParams()) -> list[Fused]:
    """One ranking from two, best first; ties broken by paper id for stable pages."""
    fused: dict[int, Fused] = {}
    for rank, (pid, score) in enumerate(keyword, start=1):
        fused.setdefault(pid, Fused(pid, 0.0)).keyword_rank = rank
        fused[pid].keyword_score = score
    for rank, (pid, score) in enumerate(semantic, start=1):
        fused.setdefault(pid, Fused(pid, 0.0)).semantic_rank = rank
        fused[pid].semantic_score = score
    if params.method == "rrf":
        for item in fused.values():
            if item.keyword_rank:
                item.score += params.keyword_weight / (params.rrf_k + item.keyword_rank)
            if item.semantic_rank:
                item.score += params.semantic_weight / (params.rrf_k + item.semantic_rank)
    else:
        normalise = _zscore if params.method == "zscore" else _minmax
        k_norm = normalise(keyword)
        s_norm = normalise(semantic)
        for item in fused.values():
            item.score = (params.keyword_weight * k_norm.get(item.paper_id, 0.0)
                          + params.semantic_weight * s_norm.get(item.paper_id, 0.0))
    return sorted(fused.values(), key=lambda f: (-f.score, f.paper_id))


def _zscore(ranked: Ranked) -> dict[int, float]:
    """Scores as standard deviations above the list's mean, floored at the list's minimum
    so that a paper missing from a list is never better off than the list's worst."""
    if not ranked:
        return {}
    scores = [s for _, s in ranked]
    mean = sum(scores) / len(scores)
    std = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5 or 1.0
    low = (min(scores) - mean) / std
    return {pid: (s - mean) / std - low for pid, s in ranked}


def _minmax(ranked: Ranked) -> dict[int, float]:
    if not ranked:
        return {}
    scores = [s for _, s in ranked]
    low, high = min(scores), max(scores)
    if high <= low:
        return {pid: 1.0 for pid, _ in ranked}
    return {pid: (s - low) / (high - low) for pid, s in ranked}
