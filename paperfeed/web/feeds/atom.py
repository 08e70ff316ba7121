"""Atom 1.0 documents (RFC 4287) for lists of papers.

Built with ElementTree, which escapes ``&``, ``<`` and ``>`` in text and attributes; LaTeX
is text like any other (``$\\alpha < \\beta$`` arrives in the reader as written). Characters
that XML 1.0 cannot carry at all (control characters from odd PDFs) are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
EMPTY_FEED_UPDATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

ET.register_namespace("", ATOM_NS)


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", value)


@dataclass(frozen=True, slots=True)
class AtomLink:
    href: str
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None


@dataclass(slots=True)
class AtomEntry:
    """One paper as an Atom entry."""

    id: str
    title: str
    updated: dt.datetime
    summary: str
    authors: Sequence[str]
    links: Sequence[AtomLink]
    categories: Sequence[str] = ()
    published: dt.datetime | None = None
    content_html: str | None = None


@dataclass(slots=True)
class AtomFeed:
    id: str
    title: str
    self_url: str
    site_url: str
    subtitle: str = ""
    generator: str = "paperfeed"
    entries: list[AtomEntry] = field(default_factory=list)
    author: str = "paperfeed"


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}",
                            {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def render_atom(feed: AtomFeed) -> bytes:
    """The feed as a UTF-8 Atom document."""
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(root, "id", feed.id)
    _sub(root, "title", feed.title, type="text")
    if feed.subtitle:
        _sub(root, "subtitle", feed.subtitle, type="text")
    updated = max((e.updated for e in feed.entries), default=EMPTY_FEED_UPDATED)
    _sub(root, "updated", _rfc3339(updated))
    _sub(root, "link", rel="self", href=feed.self_url, type="application/atom+xml")
    _sub(root, "link", rel="alternate", href=feed.site_url, type="text/html")
    author = _sub(root, "author")
    _sub(author, "name", feed.author)
    _sub(root, "generator", feed.generator)
    for entry in feed.entries:
        node = _sub(root, "entry")
        _sub(node, "id", entry.id)
        _sub(node, "title", entry.title, type="text")
        _sub(node, "updated", _rfc3339(entry.updated))
        if entry.published:
            _sub(node, "published", _rfc3339(entry.published))
        for name in entry.authors:
            _sub(_sub(node, "author"), "name", name)
        for link in entry.links:
            attrs = {"href": link.href, "rel": link.rel}
            if link.type:
                attrs["type"] = link.type
            if link.title:
                attrs["title"] = link.title
            _sub(node, "link", **attrs)
        for term in entry.categories:
            _sub(node, "category", term=term, scheme="https://arxiv.org/archive/")
        _sub(node, "summary", entry.summary, type="text")
        if entry.content_html is not None:
            _sub(node, "content", entry.content_html, type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                       xml_declaration=False)
