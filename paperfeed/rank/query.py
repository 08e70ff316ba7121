"""The search box's query language, parsed into a plain structure that never fails.

    hubness cross-modal "image captioning" -survey author:lecun cat:cs.CV year:2025
    before:2026-03 after:2025-06-15 arXiv:2503.11731 https://arxiv.org/abs/2503.11731v2

- plain words are optional terms (ranked by BM25 and by meaning);
- "quoted phrases" must appear as written (an unclosed quote runs to the end);
- ``-word`` / ``-"a phrase"`` exclude papers containing them;
- ``author:``, ``cat:``, ``year:``, ``before:``, ``after:`` filter (``author:"a b"`` too);
- a query that is only an arXiv id or an arXiv / Hugging Face paper URL names that paper.

Words are runs of letters/digits (Unicode), so operators of the underlying engines (FTS5
``NEAR(``, ``*``, ``OR``, quotes, SQL fragments) are just words or are dropped; the
dialect code builds its own engine syntax from these words and never from raw input.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from paperfeed.identifiers import parse_arxiv_id

MAX_QUERY_CHARS = 2000
MAX_TERMS = 64
FIELDS = ("author", "cat", "year", "before", "after")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits; "_" separates
_TOKEN = re.compile(
    r"""(?P<neg>-)?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]+))""",
    re.UNICODE,
)
_CATEGORY = re.compile(r"^[A-Za-z][A-Za-z\-]*(\.[A-Za-z][A-Za-z\-]*)?$")
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


@dataclass(slots=True)
class ParsedQuery:
    """What a query asks for. ``terms`` and each phrase are lists of lower-cased words."""

    text: str = ""  # the words and phrases again, for embedding and display
    terms: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)  # words or phrases
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    arxiv_id: str | None = None  # the query was a pasted id or URL of this paper
    warnings: list[str] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        """True when there is something to rank by (words or phrases)."""
        return bool(self.terms or self.phrases)

    @property
    def highlight_words(self) -> list[str]:
        """Every positive word, for snippets."""
        words = list(self.terms)
        for phrase in self.phrases:
            words.extend(phrase)
        return list(dict.fromkeys(words))


def parse_query(raw: str | None) -> ParsedQuery:
    """Parse a search box string. Never raises; problems go to ``warnings``.

    Input: any string (None and non-strings count as empty). Output: a ParsedQuery; text
    beyond MAX_QUERY_CHARS characters or MAX_TERMS words is ignored (with a warning).
    """
    query = ParsedQuery()
    text = raw if isinstance(raw, str) else ""
    text = text.replace("\x00", " ")
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        query.warnings.append(f"only the first {MAX_QUERY_CHARS} characters were used")
    stripped = text.strip()
    if stripped and " " not in stripped:
        parsed_id = parse_arxiv_id(stripped)
        if parsed_id is not None:
            query.arxiv_id = parsed_id[0]
    shown: list[str] = []
    for match in _TOKEN.finditer(text):
        negative = bool(match.group("neg"))
        name = (match.group("field") or "").lower()
        quoted = match.group("quoted")
        value = quoted if quoted is not None else (match.group("bare") or "")
        if name in FIELDS and not negative:
            _apply_field(query, name, value.strip())
            continue
        if name and name not in FIELDS:
            value = f"{name} {value}"  # "title:foo" or "https://..." is just words
        words = [w.lower() for w in _WORD.findall(value)]
        if not words:
            continue
        if negative:
            query.excluded.append(words)
        elif quoted is not None and len(words) > 1:
            query.phrases.append(words)
            shown.append('"' + " ".join(words) + '"')
        else:
            query.terms.extend(words)
            shown.extend(words)
    total = len(query.terms) + sum(len(p) for p in query.phrases)
    if total > MAX_TERMS:
        query.warnings.append(f"only the first {MAX_TERMS} words were used")
        query.terms = query.terms[:MAX_TERMS]
        query.phrases = query.phrases[: MAX_TERMS // 4]
    query.excluded = query.excluded[:MAX_TERMS]
    query.terms = list(dict.fromkeys(query.terms))
    query.text = " ".join(shown)[:MAX_QUERY_CHARS]
    return query


def _apply_field(query: ParsedQuery, name: str, value: str) -> None:
    if not value:
        return
    if name == "author":
        words = _WORD.findall(value.lower())
        if words:
            query.authors.append(" ".join(words))
    elif name == "cat":
        if _CATEGORY.match(value):
            query.categories.append(value)
        else:
            query.warnings.append(f"cat:{value[:40]} is not an arXiv category")
    else:
        span = _date_span(value)
        if span is None:
            query.warnings.append(f"{name}:{value[:40]} is not a date (use 2025, 2025-06 or "
                                  "2025-06-15)")
        elif name == "year":
            query.date_from = _later(query.date_from, span[0])
            query.date_to = _earlier(query.date_to, span[1])
        elif name == "before":
            # before:0001-01-01 / after:9999-12-31 match nothing; clamp instead of overflowing.
            day_before = span[0] - dt.timedelta(days=1) if span[0] > dt.date.min else dt.date.min
            query.date_to = _earlier(query.date_to, day_before)
        else:  # after
            day_after = span[1] + dt.timedelta(days=1) if span[1] < dt.date.max else dt.date.max
            query.date_from = _later(query.date_from, day_after)


def _date_span(value: str) -> tuple[dt.date, dt.date] | None:
    """First and last day of '2025', '2025-06' or '2025-06-15'; None if not a real date."""
    try:
        if m := _YEAR.match(value):
            year = int(m.group(1))
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if m := _MONTH.match(value):
            year, month = int(m.group(1)), int(m.group(2))
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last)
        if m := _DAY.match(value):
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return day, day
    except (ValueError, OverflowError):
        return None
    return None


def _later(a: dt.date | None, b: dt.date) -> dt.date:
    return b if a is None or b > a else a


def _earlier(a: dt.date | None, b: dt.date) -> dt.date:
    return b if a is None or b < a else a
