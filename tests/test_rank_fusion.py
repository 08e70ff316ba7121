"""Fusing keyword and semantic rankings."""

from __future__ import annotations

from paperfeed.rank.fusion import FusionParams, fuse


def test_papers_found_by_both_arms_win():
    keyword = [(1, 10.0), (2, 8.0), (3, 1.0)]
    semantic = [(2, 0.9), (3, 0.85), (4, 0.1)]
    for method in ("minmax", "zscore", "rrf"):
        fused = fuse(keyword, semantic, FusionParams(method=method))
        assert fused[0].paper_id == 2, method
        assert {f.paper_id for f in fused} == {1, 2, 3, 4}
        top = fused[0]
        assert top.keyword_rank == 2 and top.semantic_rank == 1


def test_one_empty_arm_keeps_the_other_order():
    keyword = [(5, 3.0), (6, 2.0), (7, 1.0)]
    assert [f.paper_id for f in fuse(keyword, [])] == [5, 6, 7]
    assert [f.paper_id for f in fuse([], keyword)] == [5, 6, 7]
    assert fuse([], []) == []


def test_weights_shift_the_balance():
    keyword = [(1, 10.0), (2, 0.0)]
    semantic = [(2, 0.9), (1, 0.1)]
    assert fuse(keyword, semantic, FusionParams(keyword_weight=0.9,
                                                semantic_weight=0.1))[0].paper_id == 1
    assert fuse(keyword, semantic, FusionParams(keyword_weight=0.1,
                                                semantic_weight=0.9))[0].paper_id == 2
