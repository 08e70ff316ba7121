"""Highlighted snippets: the part of an abstract where the query's words are, HTML-safe."""

from __future__ import annotations

import html
import re

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


class QueryMatcher:
    """Finds a query's words in text, crudely stemmed: a word of 4+ letters also matches
    words sharing its first len-2 (at least 4) letters, so "retrieval" marks "retrieve"."""

    def __init__(self, words: list[str]) -> None:
        alternatives = []
        for word in sorted({w.lower() for w in words if w}, key=len, reverse=True):
            if len(word) >= 4:
                alternatives.append(re.escape(word[:max(4, len(word) - 2)]) + r"[^\W_]*")
            else:
                alternatives.append(re.escape(word))
        self.words = sorted({w.lower() for w in words if w})
        self.pattern = re.compile(
            r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])", re.IGNORECASE
        ) if alternatives else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every matching word in ``text``."""
        if self.pattern is None or not text:
            return []
        return [m.span() for m in self.pattern.finditer(text)]

    def matches(self, text: str) -> bool:
        """True if any query word occurs in ``text``."""
        return bool(self.pattern and text and self.pattern.search(text))

    def found_words(self, text: str) -> list[str]:
        """The query words that occur in ``text``."""
        if self.pattern is None or not text:
            return []
        seen = {m.group().lower() for m in self.pattern.finditer(text)}
        return [w for w in self.words
                if any(s == w or (len(w) >= 4 and s.startswith(w[:max(4, len(w) - 2)]))
                       for s in seen)]


def highlight_snippet(text: str, matcher: QueryMatcher | list[str], *, width: int = 40) -> str:
    """About ``width`` words of ``text`` around the densest cluster of query words.

    Output is HTML: the text is escaped and matching words are wrapped in <mark></mark>;
    "…" marks cut ends. Without matches it is the start of the text.
    """
    text = text or ""
    if not isinstance(matcher, QueryMatcher):
        matcher = QueryMatcher(matcher)
    # Word starts only (one regex pass); the two words that bound the window are re-matched.
    starts = [m.start() for m in _TOKEN.finditer(text)]
    if not starts:
        return html.escape(text[:300])
    hits = matcher.spans(text)
    start = 0
    if hits and len(starts) > width:
        hit_words = [_index_at(starts, s) for s, _ in hits]
        # The window of ``width`` words holding the most hits, starting at a hit: one pass
        # with two pointers (hit_words is sorted), linear in the number of hits.
        best, best_count, end_hit = hit_words[0], 0, 0
        for i, first in enumerate(hit_words):
            end_hit = max(end_hit, i)
            while end_hit < len(hit_words) and hit_words[end_hit] < first + width:
                end_hit += 1
            if end_hit - i > best_count:
                best, best_count = first, end_hit - i
        start = max(0, min(best - width // 4, len(starts) - width))
    end = min(len(starts), start + width)
    char_start = starts[start] if start > 0 else 0
    char_end = len(text)
    if end < len(starts):
        last = _TOKEN.match(text, starts[end - 1])
        char_end = last.end() if last else starts[end - 1]
    out: list[str] = ["…"] if start > 0 else []
    cursor = char_start
    for s, e in hits:
        if s < char_start or e > char_end:
            continue
        out.append(html.escape(text[cursor:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        cursor = e
    out.append(html.escape(text[cursor:char_end]))
    if end < len(starts):
        out.append("…")
    return "".join(out).strip()


def _index_at(starts: list[int], position: int) -> int:
    from bisect import bisect_right

    return max(0, bisect_right(starts, position) - 1)
