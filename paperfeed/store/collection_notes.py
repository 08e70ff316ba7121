"""Notes on collection items, and importing a reference list into a collection.

A note is the owner's free text about one paper in one collection (shown on the collection
page, written into its BibTeX / RIS / CSL-JSON exports). An import adds the papers of
uploaded references that paperfeed knows, matched by arXiv id, and reports the others.
Functions never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, update

from paperfeed.citations import ImportedReference

from .collections import CollectionError, add_to_collection, owns_collection, touch_collection
from .community_schema import collection_items
from .schema import papers

MAX_NOTE = 2000


@dataclass(slots=True)
class ImportReport:
    """What an import did: arXiv ids added, already there, and references not added
    (with why), in file order."""

    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def item_notes(conn: Connection, collection_id: int) -> dict[int, str]:
    """paper id -> note, for the collection's items that have one."""
    rows = conn.execute(select(collection_items.c.paper_id, collection_items.c.note).where(
        collection_items.c.collection_id == collection_id, collection_items.c.note != ""))
    return {int(r.paper_id): r.note for r in rows}


def set_item_note(conn: Connection, collection_id: int, user_id: int, paper_id: int,
                  note: str) -> bool:
    """Replace the note on a paper in the user's own collection (empty clears it); False
    when the collection is not theirs or does not hold the paper."""
    if not owns_collection(conn, collection_id, user_id):
        return False
    text = note.replace("\r\n", "\n").strip()
    if len(text) > MAX_NOTE:
        raise CollectionError(f"A note is at most {MAX_NOTE} characters.")
    result = conn.execute(
        update(collection_items)
        .where(collection_items.c.collection_id == collection_id,
               collection_items.c.paper_id == paper_id)
        .values(note=text)
    )
    if result.rowcount:
        touch_collection(conn, collection_id)
    return result.rowcount == 1


def import_references(conn: Connection, collection_id: int, user_id: int,
                      refs: Sequence[ImportedReference]) -> ImportReport | None:
    """Add the papers of ``refs`` that paperfeed has (by arXiv id, hidden ones not) to the
    user's own collection, with each reference's note where the item has none yet. None
    when the collection is not theirs."""
    if not owns_collection(conn, collection_id, user_id):
        return None
    report = ImportReport()
    ids = sorted({r.arxiv_id for r in refs if r.arxiv_id})
    known = {row.arxiv_id: int(row.id) for row in conn.execute(
        select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(ids),
                                                     papers.c.hidden.is_(False)))} if ids else {}
    held = set(conn.execute(select(collection_items.c.paper_id).where(
        collection_items.c.collection_id == collection_id)).scalars())
    for ref in refs:
        label = ref.title[:200] or "(untitled)"
        if not ref.arxiv_id:
            report.unknown.append(f"{label}: no arXiv id")
            continue
        paper_id = known.get(ref.arxiv_id)
        if paper_id is None:
            report.unknown.append(f"{label}: arXiv {ref.arxiv_id} is not on this site")
            continue
        if paper_id in held:
            report.already.append(ref.arxiv_id)
        else:
            try:
                add_to_collection(conn, collection_id, user_id, paper_id)
            except CollectionError as exc:
                report.unknown.append(f"{label}: {exc}")
                continue
            held.add(paper_id)
            report.added.append(ref.arxiv_id)
        if ref.note:
            conn.execute(update(collection_items).where(
                collection_items.c.collection_id == collection_id,
                collection_items.c.paper_id == paper_id, collection_items.c.note == "",
            ).values(note=ref.note.strip()[:MAX_NOTE]))
    return report
