"""Identifiers every layer uses: arXiv ids (from ids and arXiv / Hugging Face URLs) and the
folded author name that finds one author across papers.

The bottom layer (beside models.py): the store keys authors by ``author_key`` and every
front end reads arXiv ids with ``parse_arxiv_id``, so neither depends on ingest/.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# An arXiv id as arXiv writes it: new style (2503.11731) or old style with its archive and
# optional subject class (hep-th/9901001, math.GT/0309136), then an optional version.
_NEW_STYLE = r"[0-9]{4}\.[0-9]{4,5}"
_OLD_STYLE = r"[a-zA-Z][a-zA-Z\-]*(?:\.[a-zA-Z]{2})?/[0-9]{7}"
_VERSION = r"v[0-9]+"
ARXIV_ID_PATTERN = rf"(?:{_NEW_STYLE}|{_OLD_STYLE})(?:{_VERSION})?"
"""The whole grammar of an (optionally versioned) arXiv id, without anchors or capturing
groups: the web's ``{arxiv_id:arxiv}`` path parameter matches exactly this."""

_NEW_ID = re.compile(rf"^({_NEW_STYLE})({_VERSION})?$")
_OLD_ID = re.compile(rf"^({_OLD_STYLE})({_VERSION})?$")
_ID_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|arxiv:|^)\s*"
    rf"({_NEW_STYLE}|{_OLD_STYLE})({_VERSION})?",
    re.IGNORECASE,
)


def parse_arxiv_id(raw: str) -> tuple[str, int | None] | None:
    """(versionless id, version or None) for an id or arXiv/HF URL, else None."""
    text = (raw or "").strip()
    if not text or len(text) > 300:
        return None
    text = re.sub(r"[?#].*$", "", text).rstrip("/")
    text = text.removesuffix(".pdf")
    for pattern in (_NEW_ID, _OLD_ID):
        m = pattern.match(text)
        if m:
            return _canonical(m.group(1)), int(m.group(2)[1:]) if m.group(2) else None
    m = _ID_IN_TEXT.search(text)
    if m and (m.end() == len(text)):
        return _canonical(m.group(1)), int(m.group(2)[1:]) if m.group(2) else None
    return None


def _canonical(ident: str) -> str:
    if "/" in ident:
        archive, number = ident.split("/", 1)
        # 'math.AG/0601001' names the same paper as arXiv's canonical 'math/0601001'.
        return f"{archive.split('.', 1)[0].lower()}/{number}"
    return ident


@functools.lru_cache(maxsize=1 << 16)
def author_key(name: str) -> str:
    """Case- and accent-folded name used to find one author across papers."""
    if name.isascii():
        return " ".join(name.split()).lower()[:255]
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(folded.split()).lower()[:255]
