"""Turning one upstream JSON record into a Paper: the two bulk schemas and their checks."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from paperfeed.models import Author, Paper, Version

from .normalize import (
    InvalidRecord,
    clean_categories,
    clean_optional,
    clean_text,
    find_links,
    normalize_arxiv_id,
    parse_date,
    parse_datetime,
)


def paper_from_json(record: Any) -> Paper:
    """Recognise the record's schema and build a Paper, or raise InvalidRecord.

    Kaggle's arxiv-metadata-oai-snapshot has ``abstract``, an authors string plus
    ``authors_parsed``, space-separated categories and RFC 2822 version dates; paperfeed's
    shared corpus has ``summary``, an authors list, a categories list and ``listing_date``.
    """
    if not isinstance(record, dict):
        raise InvalidRecord("not a JSON object")
    if "abstract" in record or "authors_parsed" in record or "versions" in record:
        return paper_from_kaggle(record)
    if "summary" in record:
        return paper_from_listing(record)
    raise InvalidRecord("unknown schema: neither 'abstract' (Kaggle) nor 'summary' (listing)")


def _required(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(f"missing {key}")
    return value


def _listing_date(value: Any) -> dt.date | None:
    return _cached_date(value) if isinstance(value, str) else parse_date(value, "listing_date")


@functools.lru_cache(maxsize=4096)
def _cached_date(value: str) -> dt.date | None:
    # A corpus has a few hundred distinct listing days. Caching is safe although the check
    # depends on today's date: only valid dates are cached, and a date valid once stays so.
    return parse_date(value, "listing_date")


def paper_from_listing(record: dict[str, Any]) -> Paper:
    """The shared corpus schema (id, title, summary, authors[], categories[], comment,
    listing_date). It has no primary category: the first listed one stands in."""
    arxiv_id = normalize_arxiv_id(_required(record, "id"))
    title = clean_text(_required(record, "title"))
    abstract = clean_text(record.get("summary") or "")
    names = record.get("authors") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidRecord("authors is not a list of names")
    cats = record.get("categories") or []
    if not isinstance(cats, list):
        raise InvalidRecord("categories is not a list")
    comment = clean_optional(record.get("comment"))
    announced = _listing_date(record.get("listing_date"))
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=[Author(name) for name in map(clean_text, names) if name],
        categories=clean_categories(cats),
        comments=comment,
        announced_on=announced,
        links=find_links(abstract, comment),
        source="bulk",
    )


def paper_from_kaggle(record: dict[str, Any]) -> Paper:
    """Kaggle's arxiv-metadata-oai-snapshot schema (the bulk file people download)."""
    arxiv_id = normalize_arxiv_id(_required(record, "id"))
    title = clean_text(_required(record, "title"))
    abstract = clean_text(record.get("abstract") or "")
    parsed = record.get("authors_parsed")
    authors: list[Author] = []
    if isinstance(parsed, list) and parsed:
        for part in parsed:
            if not isinstance(part, list) or not part:
                raise InvalidRecord("authors_parsed entry is not a list")
            last, first, suffix = (list(part) + ["", "", ""])[:3]
            name = clean_text(" ".join(x for x in (first, last, suffix) if x))
            if name:
                authors.append(Author(name))
    elif isinstance(record.get("authors"), str):
        raw = record["authors"].replace(" and ", ", ")
        authors = [Author(name) for name in map(clean_text, raw.split(",")) if name]
    versions: list[Version] = []
    for entry in record.get("versions") or []:
        if not isinstance(entry, dict):
            raise InvalidRecord("versions entry is not an object")
        label = str(entry.get("version", "")).lstrip("v")
        if not label.isdigit():
            raise InvalidRecord(f"bad version label {entry.get('version')!r}")
        versions.append(Version(int(label), parse_datetime(entry.get("created"), "version date")))
    versions.sort(key=lambda v: v.version)
    submitted = versions[0].submitted_at if versions else None
    updated = versions[-1].submitted_at if versions else None
    update_date = parse_datetime(record.get("update_date"), "update_date")
    if update_date and (updated is None or update_date > updated):
        updated = update_date
    comment = clean_optional(record.get("comments"))
    cats = record.get("categories") or ""
    if not isinstance(cats, str):
        raise InvalidRecord("categories is not a space-separated string")
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=clean_categories(cats),
        comments=comment,
        journal_ref=clean_optional(record.get("journal-ref")),
        doi=clean_optional(record.get("doi")),
        license=clean_optional(record.get("license")),
        submitted_at=submitted,
        updated_at=updated,
        versions=versions,
        links=find_links(abstract, comment),
        source="kaggle",
    )
