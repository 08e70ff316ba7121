"""arXiv's daily new listings per category (RSS 2.0), completed from the arXiv API.

``https://rss.arxiv.org/rss/<category>`` lists one announcement day: ``new`` submissions,
``cross``-lists from other categories, and ``replace`` / ``replace-cross`` (new versions
of older papers). The item's pubDate is the announcement day. New and cross-listed items
get it as ``announced_on``; replacements do not (they were announced long before) — every
item keeps its announce type as the signal ``arxiv / announce:<category>`` observed that
day. The listing has title, abstract, authors, categories, licence and sometimes DOI and
journal ref; the API, asked by id in batches, adds dates, versions, comments, affiliations
and the primary category. Each batch lands with its checkpoint (items done for that
category and day), so a run stopped by an upstream failure continues where it stopped.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from paperfeed.identifiers import parse_arxiv_id
from paperfeed.models import Author, ImportSummary, Paper, Rejected, Signal, Version
from paperfeed.store.papers import AuthorIds, merge_papers

from .arxiv_api import ID_BATCH, fetch_details
from .documents import InvalidDocument, child_text, children_text, parse_document
from .normalize import (
    InvalidRecord,
    check_date,
    clean_categories,
    clean_optional,
    clean_text,
    find_links,
)
from .pages import Progress, finish_run, land_page, record_rejection, saved_cursor
from .upstream import Upstream, UpstreamError

SOURCE = "arxiv-rss"
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
FIRST_ANNOUNCEMENTS = ("new", "cross")
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_AUTHOR_SPLIT = re.compile(r",\s*|\s+and\s+")


@dataclass
class Listing:
    """One category's listing: its announcement day and items in order."""

    category: str
    day: dt.date | None
    items: list[Paper | Rejected] = field(default_factory=list)


def announcement_day(text: str | None) -> dt.date | None:
    """'Mon, 28 Apr 2025 00:00:00 -0400' -> 2025-04-28 (the date as arXiv wrote it, in
    its own time zone). Raises InvalidRecord for unreadable or impossible dates."""
    if not text or not text.strip():
        return None
    try:
        day = email.utils.parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidRecord(f"unreadable pubDate: {text.strip()!r}") from exc
    check_date(day, "pubDate")
    return day


def split_authors(creators: str | None) -> list[Author]:
    """dc:creator 'A, B and C' -> [A, B, C] (LaTeX in names kept as written)."""
    names = _AUTHOR_SPLIT.split(clean_text(creators))
    return [Author(name) for name in (n.strip() for n in names) if name]


def paper_from_rss_item(item: ET.Element, category: str, channel_day: dt.date | None) -> Paper:
    """One RSS <item> -> Paper (source 'arxiv-rss'), or InvalidRecord saying why."""
    description = child_text(item, "description") or ""
    match = _DESCRIPTION.match(description)
    raw_id = (child_text(item, "guid") or child_text(item, "link") or "").strip()
    raw_id = re.sub(r"^oai:arXiv\.org:", "", raw_id, flags=re.IGNORECASE)
    parsed = parse_arxiv_id(raw_id) or (parse_arxiv_id(match.group("id")) if match else None)
    if parsed is None:
        raise InvalidRecord(f"missing or bad arXiv id: {raw_id!r}" if raw_id else "missing id")
    arxiv_id, version = parsed
    title = clean_text(child_text(item, "title"))
    if not title:
        raise InvalidRecord(f"{arxiv_id}: missing title")
    announce = clean_text(child_text(item, "arxiv:announce_type")) or (
        match.group("type") if match else ""
    )
    announce = announce.lower()
    if announce not in ANNOUNCE_TYPES:
        raise InvalidRecord(f"{arxiv_id}: unknown announce type {announce!r}")
    day = announcement_day(child_text(item, "pubDate")) or channel_day
    abstract = clean_text(description[match.end() :] if match else description)
    categories = clean_categories(children_text(item, "category"))
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=split_authors(child_text(item, "dc:creator")),
        categories=categories,
        journal_ref=clean_optional(child_text(item, "arxiv:journal_reference")),
        doi=clean_optional(child_text(item, "arxiv:DOI")),
        license=clean_optional(child_text(item, "dc:rights")),
        announced_on=day if announce in FIRST_ANNOUNCEMENTS else None,
        versions=[Version(version or 1)],
        links=find_links(abstract),
        signals=[Signal("arxiv", f"announce:{category}"[:32], announce, day)],
        source=SOURCE,
    )


def parse_listing(body: bytes, category: str) -> Listing:
    """An RSS listing -> Listing with Papers and Rejected items ('item 3 of cs.CV').
    Raises InvalidDocument when the feed cannot be read at all."""
    doc = parse_document(body, "item")
    channel = doc.root.find("channel")
    try:
        day = announcement_day(child_text(channel, "pubDate") if channel is not None else None)
    except InvalidRecord:
        day = None
    listing = Listing(category, day)
    for number, item in enumerate(doc.entries, start=1):
        position = f"item {number} of {category}"
        if isinstance(item, str):
            listing.items.append(Rejected(position, item))
            continue
        try:
            listing.items.append(paper_from_rss_item(item, category, day))
        except InvalidRecord as exc:
            listing.items.append(Rejected(position, str(exc)))
    return listing


def complete_from_api(listed: Sequence[Paper], details: Sequence[Paper | Rejected]) -> list[Paper]:
    """Listing records completed with the API's details for the same ids: the API's text,
    dates, versions and primary category; the listing's announcement, licence, signals."""
    by_id = {p.arxiv_id: p for p in details if isinstance(p, Paper)}
    out = []
    for paper in listed:
        detail = by_id.get(paper.arxiv_id)
        out.append(merge_papers(paper, detail) if detail else paper)
    return out


def ingest_listings(
    engine: Engine,
    client: Upstream,
    *,
    rss_url: str,
    api_url: str,
    categories: Sequence[str],
    details: bool = True,
    batch_size: int = ID_BATCH,
    progress: Progress | None = None,
) -> ImportSummary:
    """Read each category's current listing into the store.

    Inputs: RSS base URL (``<rss_url>/<category>``), API URL, categories; ``details``
    False skips the API (listing fields only). Output: this run's summary. Side effects:
    papers committed per batch of ``batch_size`` with checkpoint source 'arxiv-rss', key
    '<category> <day>', cursor = items done; cleared when the category is complete. An
    upstream failure is reported in the summary and stops that category only.
    """
    summary = ImportSummary()
    author_ids = AuthorIds()
    done_total, seen_total = 0, 0
    for category in categories:
        url = f"{rss_url.rstrip('/')}/{category}"
        try:
            fetched = client.get(url, expect="xml")
            listing = parse_listing(fetched.body, category)
        except (UpstreamError, InvalidDocument) as exc:
            summary.errors.append(f"arXiv RSS {category}: {exc}")
            continue
        for item in listing.items:
            if isinstance(item, Rejected):
                record_rejection(summary, item)
        listed = [item for item in listing.items if isinstance(item, Paper)]
        seen_total += len(listed)
        key = f"{category} {listing.day.isoformat() if listing.day else 'undated'}"
        start = min(int(saved_cursor(engine, SOURCE, key) or 0), len(listed))
        done_total += start
        stopped = False
        for offset in range(start, len(listed), batch_size):
            batch = listed[offset : offset + batch_size]
            if details:
                try:
                    _, page = next(
                        fetch_details(client, api_url, [p.arxiv_id for p in batch],
                                      batch_size=batch_size)
                    )
                except UpstreamError as exc:
                    summary.errors.append(
                        f"arXiv API details for {category} items {offset + 1}-"
                        f"{offset + len(batch)}: {exc} (rerun to continue from here)"
                    )
                    stopped = True
                    break
                batch = complete_from_api(batch, page.items)
            land_page(
                engine, summary, batch, [],
                source=SOURCE, key=key, cursor=str(offset + len(batch)), author_ids=author_ids,
            )
            done_total += len(batch)
            if progress:
                progress(done_total, seen_total)
        if not stopped:
            finish_run(engine, SOURCE, key)
    return summary
