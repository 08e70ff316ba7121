"""Highlighted snippets: the part of an abstract where the query's words are, HTML-safe."""

from __future__ import annotations

import html
import re

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def word_matches(word: str, query_words: set[str]) -> bool:
    """True if ``word`` (lower-case) is a query word or shares its stem (crudely: a long
    enough common prefix, so "retrieval" marks "retrieve" and "retrieving")."""
    if word in query_words:
        return True
    for q in query_words:
        stem = max(4, len(q) - 2)
        if len(q) >= 4 and len(word) >= 4 and word[:stem] == q[:stem]:
            return True
    return False


def highlight_snippet(text: str, query_words: list[str], *, width: int = 40) -> str:
    """About ``width`` words of ``text`` around the densest cluster of query words.

    Output is HTML: the text is escaped and matching words are wrapped in <mark></mark>;
    "…" marks cut ends. Without matches it is the start of the text.
    """
    text = text or ""
    words = {w.lower() for w in query_words if w}
    spans = [(m.start(), m.end(), word_matches(m.group().lower(), words))
             for m in _TOKEN.finditer(text)]
    if not spans:
        return html.escape(text[:300])
    hits = [i for i, (_, _, hit) in enumerate(spans) if hit]
    start = 0
    if hits and len(spans) > width:
        best, best_count = 0, -1
        for i in hits:
            count = sum(1 for j in hits if i <= j < i + width)
            if count > best_count:
                best, best_count = i, count
        start = max(0, min(best - width // 4, len(spans) - width))
    end = min(len(spans), start + width)
    char_start = spans[start][0] if start > 0 else 0
    char_end = spans[end - 1][1] if end < len(spans) else len(text)
    out: list[str] = ["…"] if start > 0 else []
    cursor = char_start
    for s, e, hit in spans[start:end]:
        if hit:
            out.append(html.escape(text[cursor:s]))
            out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
            cursor = e
    out.append(html.escape(text[cursor:char_end]))
    if end < len(spans):
        out.append("…")
    return "".join(out).strip()
