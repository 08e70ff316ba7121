"""Snippet windows: the densest cluster of query words, found in one pass."""

from __future__ import annotations

import random

from paperfeed.rank.snippets import QueryMatcher, highlight_snippet


def _densest_start(hit_words: list[int], width: int) -> int:
    """Brute force: the first hit word whose window of ``width`` words holds the most hits."""
    best, best_count = hit_words[0], 0
    for first in hit_words:
        count = sum(1 for k in hit_words if first <= k < first + width)
        if count > best_count:
            best, best_count = first, count
    return best


def test_window_is_the_densest_cluster_of_hits():
    rng = random.Random(7)
    for _ in range(200):
        n, width = rng.randint(50, 400), rng.choice([5, 10, 40])
        words = [rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(n)]
        hit_words = sorted(rng.sample(range(n), rng.randint(1, n // 3)))
        for i in hit_words:
            words[i] = "target"
        start = max(0, min(_densest_start(hit_words, width) - width // 4, n - width))
        snippet = highlight_snippet(" ".join(words), QueryMatcher(["target"]), width=width)
        shown = snippet.replace("<mark>", "").replace("</mark>", "").strip("…").split()
        assert shown == words[start:start + width]
        assert snippet.count("<mark>") == sum(1 for k in hit_words if start <= k < start + width)


def test_every_word_a_hit_and_short_texts():
    text = " ".join(["graph"] * 20_000)
    snippet = highlight_snippet(text, QueryMatcher(["graph"]), width=40)
    assert snippet.count("<mark>graph</mark>") == 40 and snippet.endswith("…")
    assert highlight_snippet("a <b> graph", ["graph"]) == "a &lt;b&gt; <mark>graph</mark>"
    assert highlight_snippet("", ["graph"]) == ""
    assert highlight_snippet("!!!", ["graph"]) == "!!!"
