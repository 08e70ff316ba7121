"""The arXiv API (Atom): details by id in batches, and backfill by category and date range.

A backfill asks ``cat:<category> AND submittedDate:[YYYYMMDD0000 TO YYYYMMDD2359]``
page by page (``start`` / ``max_results``, oldest first) and stores each page with the
offset reached, so an interrupted backfill continues at the first page that did not land.
The Atom entry gives the latest version's id and date (``updated``) and the first
version's date (``published``); the other version dates are not in the API.
"""

from __future__ import annotations

import datetime as dt
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.identifiers import parse_arxiv_id
from paperfeed.models import Author, ImportSummary, Paper, Rejected, Version
from paperfeed.store.papers import AuthorIds

from .documents import NS, InvalidDocument, child_text, children_text, parse_document
from .normalize import (
    InvalidRecord,
    clean_categories,
    clean_optional,
    clean_text,
    find_links,
    is_arxiv_category,
    parse_datetime,
)
from .pages import Progress, finish_run, land_page, saved_cursor
from .upstream import Upstream, UpstreamError

SOURCE = "arxiv-api"
PAGE_SIZE = 100  # arXiv suggests modest pages; 2000 is their hard maximum
ID_BATCH = 100
ENTRY = f"{{{NS['atom']}}}entry"
log = logging.getLogger(__name__)


@dataclass
class AtomPage:
    """One API reply: totalResults (None if absent) and its entries in order."""

    total: int | None
    items: list[Paper | Rejected]


def paper_from_atom_entry(entry: ET.Element) -> Paper:
    """One Atom <entry> -> Paper (source 'arxiv-api'), or InvalidRecord saying why."""
    raw_id = (child_text(entry, "atom:id") or "").strip()
    if not raw_id:
        raise InvalidRecord("missing id")
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        raise InvalidRecord(f"not an arXiv id: {raw_id!r}")
    arxiv_id, version = parsed
    title = clean_text(child_text(entry, "atom:title"))
    if not title:
        raise InvalidRecord(f"{arxiv_id}: missing title")
    abstract = clean_text(child_text(entry, "atom:summary"))
    published = parse_datetime(child_text(entry, "atom:published"), "published date")
    updated = parse_datetime(child_text(entry, "atom:updated"), "updated date")
    if published and updated and updated < published:
        raise InvalidRecord(f"{arxiv_id}: updated {updated:%Y-%m-%d} before published")
    authors = []
    for node in entry.findall("atom:author", NS):
        name = clean_text(child_text(node, "atom:name"))
        if name:
            affiliations = [clean_text(a) for a in children_text(node, "arxiv:affiliation")]
            authors.append(Author(name, "; ".join(a for a in affiliations if a) or None))
    primary_node = entry.find("arxiv:primary_category", NS)
    primary = primary_node.get("term") if primary_node is not None else None
    categories = [c.get("term") or "" for c in entry.findall("atom:category", NS)]
    comment = clean_optional(child_text(entry, "arxiv:comment"))
    versions = [Version(1, published)]
    if version and version > 1:
        versions.append(Version(version, updated))
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=clean_categories(categories, primary),
        primary_category=primary if primary and is_arxiv_category(primary) else None,
        comments=comment,
        journal_ref=clean_optional(child_text(entry, "arxiv:journal_ref")),
        doi=clean_optional(child_text(entry, "arxiv:doi")),
        submitted_at=published,
        updated_at=updated or published,
        versions=versions,
        links=find_links(abstract, comment),
        source=SOURCE,
    )


def parse_atom_page(body: bytes, where: str = "page") -> AtomPage:
    """Parse an API reply into Papers and Rejected entries ('entry 3 of <where>').

    Raises InvalidDocument when the page is unreadable, UpstreamError-worthy API error
    feeds (an entry whose id is .../api/errors) as InvalidDocument with arXiv's message.
    """
    doc = parse_document(body, ENTRY)
    total_text = child_text(doc.root, "opensearch:totalResults")
    total = int(total_text) if total_text and total_text.strip().isdigit() else None
    items: list[Paper | Rejected] = []
    for number, entry in enumerate(doc.entries, start=1):
        position = f"entry {number} of {where}"
        if isinstance(entry, str):
            items.append(Rejected(position, entry))
            continue
        if "/api/errors" in (child_text(entry, "atom:id") or ""):
            message = clean_text(child_text(entry, "atom:summary")) or "unknown error"
            raise InvalidDocument(f"arXiv API error: {message}")
        try:
            items.append(paper_from_atom_entry(entry))
        except InvalidRecord as exc:
            items.append(Rejected(position, str(exc)))
    return AtomPage(total, items)


def fetch_details(
    client: Upstream, api_url: str, arxiv_ids: Sequence[str], *, batch_size: int = ID_BATCH
) -> Iterator[tuple[list[str], AtomPage]]:
    """Ask the API for ``arxiv_ids`` in batches (id_list); yields (ids asked, page).

    Raises UpstreamError when a batch cannot be fetched or read after retries.
    """
    for start in range(0, len(arxiv_ids), batch_size):
        batch = list(arxiv_ids[start : start + batch_size])
        params: dict[str, str | int] = {
            "id_list": ",".join(batch), "start": 0, "max_results": len(batch)
        }
        fetched = client.get(api_url, params, expect="xml")
        try:
            page = parse_atom_page(fetched.body, f"id batch {start // batch_size + 1}")
        except InvalidDocument as exc:
            raise UpstreamError(fetched.url, str(exc)) from exc
        yield batch, page


class FetchFailed(Exception):
    """arXiv could not be asked, or did not answer in time."""


def fetch_from_arxiv(settings: Settings, arxiv_id: str) -> Paper | None:
    """The paper ``arxiv_id`` as the arXiv API (``settings.arxiv_api_url``) describes it,
    for a person who is waiting (no spacing, one quick retry, at most 15 s per request).

    Returns None when arXiv does not know the paper; raises FetchFailed when arXiv cannot
    be reached or answers with something unreadable. Network only, no database.
    """
    client = Upstream(user_agent=settings.user_agent, delay_seconds=0.0,
                      timeout_seconds=min(settings.http_timeout_seconds, 15.0), retries=1,
                      backoff_seconds=1.0)
    try:
        with client:
            for _, page in fetch_details(client, settings.arxiv_api_url, [arxiv_id]):
                for item in page.items:
                    if isinstance(item, Paper) and item.arxiv_id == arxiv_id:
                        return item
    except Exception as exc:
        log.warning("arXiv fetch of %s failed: %s", arxiv_id, exc)
        raise FetchFailed("arXiv did not answer; try again in a few minutes") from exc
    return None


def backfill_query(category: str, first_day: dt.date, last_day: dt.date) -> str:
    """The API search for papers first submitted to ``category`` in [first_day, last_day]."""
    return (
        f"cat:{category} AND submittedDate:"
        f"[{first_day:%Y%m%d}0000 TO {last_day:%Y%m%d}2359]"
    )


def backfill_category(
    engine: Engine,
    client: Upstream,
    *,
    api_url: str,
    category: str,
    first_day: dt.date,
    last_day: dt.date,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> ImportSummary:
    """Page through one category's submissions in a date range into the store.

    Output: the summary of this run. Side effects: each page is committed with the offset
    reached (checkpoint source 'arxiv-api', key '<category> <first>..<last>'); a finished
    backfill clears it. Upstream failures after retries end the run with an error in the
    summary and the checkpoint kept, so a rerun continues from the page that failed.
    """
    key = f"{category} {first_day:%Y%m%d}..{last_day:%Y%m%d}"
    summary, finished = page_through_query(
        engine, client, api_url=api_url, query=backfill_query(category, first_day, last_day),
        source=SOURCE, key=key, label=category, page_size=page_size, progress=progress,
    )
    if finished:
        finish_run(engine, SOURCE, key)
    return summary


def page_through_query(
    engine: Engine,
    client: Upstream,
    *,
    api_url: str,
    query: str,
    source: str,
    key: str,
    label: str,
    page_size: int = PAGE_SIZE,
    announced_on: dt.date | None = None,
    progress: Progress | None = None,
) -> tuple[ImportSummary, bool]:
    """Page through an API search (oldest submission first) into the store, resuming at
    the offset saved for (source, key).

    Output: (summary, finished): finished is False when an upstream failure stopped the run
    (the error is in the summary). Side effects: each page committed with the offset reached
    as the (source, key) checkpoint, which is left for the caller to clear or mark; the
    papers get ``announced_on`` when given (their listing day).
    """
    summary = ImportSummary()
    start = int(saved_cursor(engine, source, key) or 0)
    author_ids = AuthorIds()
    empty_pages = 0
    while True:
        params: dict[str, str | int] = {
            "search_query": query,
            "start": start,
            "max_results": page_size,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        try:
            fetched = client.get(api_url, params, expect="xml")
            page = parse_atom_page(fetched.body, f"page at start={start}")
        except (UpstreamError, InvalidDocument) as exc:
            summary.errors.append(
                f"arXiv API {label} at start={start}: {exc} (rerun to continue from here)"
            )
            return summary, False
        if not page.items:
            if page.total is not None and start < page.total and empty_pages < client.retries:
                # arXiv's API sometimes answers a page with no entries; asking again helps.
                empty_pages += 1
                continue
            if page.total is not None and start < page.total:
                summary.errors.append(
                    f"arXiv API {label}: empty page at start={start} of {page.total}"
                    " (rerun to continue from here)"
                )
                return summary, False
            break
        empty_pages = 0
        papers = [item for item in page.items if isinstance(item, Paper)]
        if announced_on is not None:
            papers = [replace(paper, announced_on=announced_on) for paper in papers]
        rejected = [item for item in page.items if isinstance(item, Rejected)]
        start += len(page.items)
        land_page(
            engine, summary, papers, rejected,
            source=source, key=key, cursor=str(start), author_ids=author_ids,
        )
        if progress:
            progress(start, page.total)
        if page.total is not None and start >= page.total:
            break
    return summary, True


__all__ = [
    "AtomPage",
    "backfill_category",
    "backfill_query",
    "fetch_details",
    "page_through_query",
    "paper_from_atom_entry",
    "parse_atom_page",
]
