"""Normalising what upstream sources say into the shape every Paper shares.

arXiv ids lose their version and URL prefix, titles and abstracts lose arXiv's hard line
wraps, category lists keep only real arXiv categories (no MSC/ACM codes), and code or
project links are picked out of abstracts and comments. LaTeX is kept as written.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from paperfeed.identifiers import parse_arxiv_id
from paperfeed.models import Link
from paperfeed.safe_urls import safe_url

# arXiv categories: "cs.CV", "math.AG", "hep-th", "q-bio.NC", "astro-ph.GA", "stat.ML" ...
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z][A-Za-z\-]*)?$")
_WS = re.compile(r"\s+")
_URL = re.compile(r"https?://[^\s<>\"'{}|\\^`\]\)]+", re.IGNORECASE)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "huggingface.co")
_DATA_HINT = ("huggingface.co/datasets", "zenodo.org", "kaggle.com/datasets")


class InvalidRecord(ValueError):
    """A record that cannot become a Paper; the message says why."""


def normalize_arxiv_id(raw: str) -> str:
    """'2503.11731v2', 'arXiv:2503.11731', 'https://arxiv.org/abs/hep-th/9901001v1' ->
    versionless id. Raises InvalidRecord for anything that is not an arXiv id."""
    parsed = parse_arxiv_id(raw)
    if parsed is None:
        raise InvalidRecord(f"not an arXiv id: {raw!r}")
    return parsed[0]


def clean_text(text: str | None) -> str:
    """Collapse hard line wraps and runs of whitespace into single spaces."""
    if not text:
        return ""
    return " ".join(text.split())


def clean_optional(text: str | None) -> str | None:
    cleaned = clean_text(text)
    return cleaned or None


def is_arxiv_category(code: str) -> bool:
    """True for arXiv taxonomy codes (cs.CV, hep-th, q-bio.NC); False for MSC/ACM codes
    such as '68T50' or 'I.2.7'."""
    return bool(_CATEGORY.match(code)) and not code[0].isdigit()


def clean_categories(codes: list[str] | str | None, primary: str | None = None) -> list[str]:
    """arXiv categories only, de-duplicated; the primary (or else the first listed) first."""
    if codes is None:
        return []
    if isinstance(codes, str):
        codes = codes.split()
    seen: list[str] = []
    for code in list(codes):
        code = (code or "").strip().rstrip(",;")
        if code and is_arxiv_category(code) and code not in seen:
            seen.append(code)
    if primary and is_arxiv_category(primary):
        head = primary
    elif seen:
        head = seen[0]
    else:
        return []
    # Primary first, the rest sorted: the order the store gives back, so hashes agree.
    return [head, *sorted(c for c in seen if c != head)]


def find_links(*texts: str | None) -> list[Link]:
    """Code, data and project links mentioned in an abstract or comment, in order."""
    links: list[Link] = []
    seen: set[str] = set()
    for text in texts:
        if not text or "http" not in text:
            continue
        for m in _URL.finditer(text):
            url = m.group(0).rstrip(".,;:!?")
            if url.count("(") < url.count(")"):
                url = url.rstrip(")")
            key = url.lower().rstrip("/")
            if key in seen or "arxiv.org/abs" in key or len(url) > 500 or not safe_url(url):
                continue
            seen.add(key)
            links.append(Link(url=url, kind=classify_link(url)))
    return links


def classify_link(url: str) -> str:
    low = url.lower()
    if any(hint in low for hint in _DATA_HINT):
        return "data"
    host = re.sub(r"^https?://(www\.)?", "", low).split("/", 1)[0]
    if host in _CODE_HOSTS and not low.startswith("https://huggingface.co/papers"):
        return "code"
    if host.endswith(("github.io", ".io")) or "project" in low:
        return "project"
    return "other"


_MIN_DATE = dt.date(1986, 1, 1)


def check_date(value: dt.date | None, what: str) -> None:
    """Reject impossible dates (before arXiv's precursors, or in the future by > 2 days)."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < _MIN_DATE or day > dt.date.today() + dt.timedelta(days=2):
        raise InvalidRecord(f"impossible {what}: {value.isoformat()}")


def parse_datetime(value: str | None, what: str = "date") -> dt.datetime | None:
    """ISO 8601 or RFC 2822 (Kaggle's versions) -> aware UTC datetime; None stays None."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            parsed = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        elif re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text):
            parsed = dt.datetime.fromisoformat(text)
        else:
            parsed = email.utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidRecord(f"unreadable {what}: {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    parsed = parsed.astimezone(dt.UTC)
    check_date(parsed, what)
    return parsed


def parse_date(value: str | None, what: str = "date") -> dt.date | None:
    parsed = parse_datetime(value, what)
    return parsed.date() if parsed else None
