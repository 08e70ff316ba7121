"""Reading upstream XML pages: strictly when they are well-formed, entry by entry when not.

One malformed entry (an unescaped ``&``, a broken tag) makes the whole page ill-formed for
an XML parser. Rather than lose the page, the page is cut at its entry tags and each entry
is parsed inside the page's own header and footer (so namespaces still resolve); the bad
entry is reported and the good ones land. Documents declaring entities are refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from .normalize import InvalidRecord

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "oai_arxiv": "http://arxiv.org/OAI/arXiv/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


class InvalidDocument(InvalidRecord):
    """A page that cannot be read at all (not XML, or its header is broken)."""


@dataclass
class Document:
    """A parsed page: its root (header fields, paging) and its entries in order, each an
    Element or, for an entry that is not well-formed XML, the parser's complaint."""

    root: ET.Element
    entries: list[ET.Element | str] = field(default_factory=list)
    salvaged: bool = False


def parse_document(body: bytes, entry_tag: str) -> Document:
    """Parse ``body`` and collect its ``entry_tag`` elements (Clark notation,
    '{namespace}local'). Raises InvalidDocument when even the page header is unreadable."""
    if re.search(rb"<!ENTITY", body[:4096]):
        raise InvalidDocument("XML declaring entities is refused")
    try:
        root = safe_fromstring(body)
    except ET.ParseError as exc:
        return _salvage(body, entry_tag, exc)
    except DefusedXmlException as exc:  # entities, external references: never expanded
        raise InvalidDocument(f"XML with {type(exc).__name__} is refused") from exc
    return Document(root, list(root.iter(entry_tag)))


def _salvage(body: bytes, entry_tag: str, error: ET.ParseError) -> Document:
    local = entry_tag.rsplit("}", 1)[-1]
    text = body.decode("utf-8", "replace")
    starts = [m.start() for m in re.finditer(rf"<{re.escape(local)}[\s>]", text)]
    if not starts:
        raise InvalidDocument(f"bad XML: {error}")
    close = f"</{local}>"
    last_close = text.rfind(close)
    if last_close < starts[-1]:
        raise InvalidDocument(f"bad XML (last <{local}> never closed): {error}")
    head, tail = text[: starts[0]], text[last_close + len(close) :]
    try:
        root = safe_fromstring(head + tail)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise InvalidDocument(f"bad XML outside the entries: {exc}") from exc
    entries: list[ET.Element | str] = []
    bounds = [*starts[1:], last_close + len(close)]
    for start, end in zip(starts, bounds, strict=True):
        chunk = text[start:end]
        # The chunk ends where the next entry starts: drop anything after its close tag.
        cut = chunk.rfind(close)
        chunk = chunk[: cut + len(close)] if cut >= 0 else chunk
        try:
            wrapped = safe_fromstring(head + chunk + tail)
            found = next(wrapped.iter(entry_tag), None)
            entries.append(found if found is not None else f"no <{local}> element")
        except (ET.ParseError, DefusedXmlException) as exc:
            entries.append(f"bad XML: {exc}")
    return Document(root, entries, salvaged=True)


def child_text(element: ET.Element, path: str) -> str | None:
    """Text of the first element at ``path`` (prefixes from NS), or None."""
    found = element.find(path, NS)
    if found is None:
        return None
    return "".join(found.itertext())


def children_text(element: ET.Element, path: str) -> list[str]:
    """Texts of every element at ``path``."""
    return ["".join(e.itertext()) for e in element.findall(path, NS)]
