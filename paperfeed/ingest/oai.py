"""arXiv OAI-PMH harvesting: ListRecords in arXiv's own ``arXiv`` metadata format.

A harvest asks ``verb=ListRecords&metadataPrefix=arXiv`` with an optional ``set`` (e.g.
``cs``, ``physics:hep-th``) and ``from`` / ``until`` days, then follows each page's
``resumptionToken`` until it comes back empty. The token of the next page is the
checkpoint, saved with the page it follows; ``noRecordsMatch`` means an empty harvest,
not an error. The ``arXiv`` format gives id, created (v1 day), updated (latest version
day), authors with keyname / forenames / suffix / affiliations, title, categories (the
first is the primary), comments, journal-ref, doi, licence and abstract.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sqlalchemy import Engine

from paperfeed.identifiers import parse_arxiv_id
from paperfeed.models import Author, ImportSummary, Paper, Rejected, Version
from paperfeed.store.checkpoints import DONE
from paperfeed.store.papers import AuthorIds

from .documents import NS, InvalidDocument, child_text, parse_document
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

SOURCE = "oai"
RECORD = f"{{{NS['oai']}}}record"
NOT_ERRORS = frozenset({"noRecordsMatch"})


class OaiError(RuntimeError):
    """An OAI-PMH <error code=...> reply other than noRecordsMatch."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code


@dataclass
class OaiPage:
    """One ListRecords reply: records in order, the next token ('' = last page), and
    completeListSize when the server says it."""

    items: list[Paper | Rejected] = field(default_factory=list)
    token: str = ""
    complete_size: int | None = None
    deleted: int = 0


def author_from_oai(node: ET.Element) -> Author | None:
    """<author><keyname/><forenames/><suffix/><affiliation/>* -> 'Forenames Keyname Suffix'."""
    parts = [
        clean_text(child_text(node, f"oai_arxiv:{tag}"))
        for tag in ("forenames", "keyname", "suffix")
    ]
    name = " ".join(p for p in parts if p)
    if not name:
        return None
    affiliations = [
        clean_text("".join(a.itertext())) for a in node.findall("oai_arxiv:affiliation", NS)
    ]
    return Author(name, "; ".join(a for a in affiliations if a) or None)


def paper_from_oai_metadata(meta: ET.Element) -> Paper:
    """One <arXiv> metadata element -> Paper (source 'oai'), or InvalidRecord."""
    raw_id = clean_text(child_text(meta, "oai_arxiv:id"))
    if not raw_id:
        raise InvalidRecord("missing id")
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        raise InvalidRecord(f"not an arXiv id: {raw_id!r}")
    arxiv_id = parsed[0]
    title = clean_text(child_text(meta, "oai_arxiv:title"))
    if not title:
        raise InvalidRecord(f"{arxiv_id}: missing title")
    created = parse_datetime(child_text(meta, "oai_arxiv:created"), "created date")
    updated = parse_datetime(child_text(meta, "oai_arxiv:updated"), "updated date")
    if created and updated and updated < created:
        raise InvalidRecord(f"{arxiv_id}: updated {updated:%Y-%m-%d} before created")
    authors = [
        author
        for node in meta.findall("oai_arxiv:authors/oai_arxiv:author", NS)
        if (author := author_from_oai(node)) is not None
    ]
    listed = (child_text(meta, "oai_arxiv:categories") or "").split()
    primary = listed[0] if listed and is_arxiv_category(listed[0]) else None
    abstract = clean_text(child_text(meta, "oai_arxiv:abstract"))
    comment = clean_optional(child_text(meta, "oai_arxiv:comments"))
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=clean_categories(listed, primary),
        primary_category=primary,
        comments=comment,
        journal_ref=clean_optional(child_text(meta, "oai_arxiv:journal-ref")),
        doi=clean_optional(child_text(meta, "oai_arxiv:doi")),
        license=clean_optional(child_text(meta, "oai_arxiv:license")),
        submitted_at=created,
        updated_at=updated or created,
        versions=[Version(1, created)],
        links=find_links(abstract, comment),
        source=SOURCE,
    )


def parse_list_records(body: bytes, where: str = "page") -> OaiPage:
    """A ListRecords reply -> OaiPage. Deleted records are counted, not returned.

    Raises OaiError for OAI error replies (except noRecordsMatch, an empty page) and
    InvalidDocument for a reply that cannot be read.
    """
    doc = parse_document(body, RECORD)
    error = doc.root.find("oai:error", NS)
    if error is not None:
        code = error.get("code", "unknown")
        if code in NOT_ERRORS:
            return OaiPage()
        raise OaiError(code, clean_text("".join(error.itertext())))
    page = OaiPage()
    token = doc.root.find("oai:ListRecords/oai:resumptionToken", NS)
    if token is not None:
        page.token = (token.text or "").strip()
        size = token.get("completeListSize")
        page.complete_size = int(size) if size and size.isdigit() else None
    elif doc.root.find("oai:ListRecords", NS) is None:
        raise InvalidDocument("not a ListRecords reply")
    for number, record in enumerate(doc.entries, start=1):
        position = f"record {number} of {where}"
        if isinstance(record, str):
            page.items.append(Rejected(position, record))
            continue
        header = record.find("oai:header", NS)
        if header is not None and header.get("status") == "deleted":
            page.deleted += 1
            continue
        meta = record.find("oai:metadata/oai_arxiv:arXiv", NS)
        if meta is None:
            page.items.append(Rejected(position, "no arXiv metadata in record"))
            continue
        try:
            page.items.append(paper_from_oai_metadata(meta))
        except InvalidRecord as exc:
            page.items.append(Rejected(position, str(exc)))
    return page


def harvest_key(set_spec: str | None, first: dt.date | None, last: dt.date | None) -> str:
    """The checkpoint key of one harvest: 'set from..until'."""
    return f"{set_spec or '*'} {first or ''}..{last or ''}"


def harvest(
    engine: Engine,
    client: Upstream,
    *,
    oai_url: str,
    set_spec: str | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Harvest ListRecords pages into the store, resuming a stopped harvest.

    Output: this run's summary. Side effects: each page is committed with the next
    resumptionToken (checkpoint source 'oai', key from harvest_key); the checkpoint is
    cleared when the last page lands. An expired token (badResumptionToken) clears it,
    so the next run starts over; other failures keep it, so the next run continues.
    """
    key = harvest_key(set_spec, first_day, last_day)
    summary = ImportSummary()
    author_ids = AuthorIds()
    token = saved_cursor(engine, SOURCE, key)
    if token == DONE:
        token = None
    pages, done = 0, 0
    while True:
        pages += 1
        params: dict[str, str | int] = {"verb": "ListRecords"}
        if token:
            params["resumptionToken"] = token
        else:
            params["metadataPrefix"] = "arXiv"
            if set_spec:
                params["set"] = set_spec
            if first_day:
                params["from"] = first_day.isoformat()
            if last_day:
                params["until"] = last_day.isoformat()
        try:
            fetched = client.get(oai_url, params, expect="xml")
            page = parse_list_records(fetched.body, f"page {pages}")
        except OaiError as exc:
            summary.errors.append(f"OAI {key}: {exc}")
            if exc.code == "badResumptionToken":
                finish_run(engine, SOURCE, key)
                summary.errors.append("OAI: resumption token expired; the next run starts over")
            return summary
        except (UpstreamError, InvalidDocument) as exc:
            summary.errors.append(f"OAI {key} page {pages}: {exc} (rerun to continue from here)")
            return summary
        papers = [item for item in page.items if isinstance(item, Paper)]
        rejected = [item for item in page.items if isinstance(item, Rejected)]
        land_page(
            engine, summary, papers, rejected,
            source=SOURCE, key=key, cursor=page.token or DONE, author_ids=author_ids,
        )
        done += len(page.items) + page.deleted
        if progress:
            progress(done, page.complete_size)
        if not page.token:
            break
        token = page.token
    finish_run(engine, SOURCE, key)
    return summary
