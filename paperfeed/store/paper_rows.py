"""Papers as ready-to-insert row tuples, and writing them: the path every upsert takes.

``paper_rows`` turns Paper records into plain tuples (str, int, bool, None, and dates as
the database driver takes them); ``write_paper_rows`` stores them. The bulk importer calls
``paper_rows`` in its parser process, so that its writer process unpickles cheap tuples
and hands them to the driver's executemany / COPY, adding only ids. Papers already in the
database take the exact path instead: rebuilt as Paper records (``PaperRows.papers_at``),
merged with what is stored (``merge_papers``), compared by content hash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, update

from paperfeed.identifiers import author_key
from paperfeed.models import Author, ImportSummary, Link, Paper, Signal, Version
from paperfeed.safe_urls import safe_url

from . import postgres, sqlite
from .database import Dialect
from .papers import (
    _CHUNK,
    AuthorIds,
    _chunks,
    _paper_row,
    content_hash,
    load_papers,
    merge_papers,
)
from .schema import (
    paper_authors,
    paper_categories,
    paper_links,
    paper_signals,
    paper_versions,
    papers,
)

# papers columns in the order of PaperRows.papers (id and first_seen_at are the writer's)
PAPER_COLUMNS = (
    "arxiv_id", "title", "abstract", "authors_text", "primary_category", "comments",
    "journal_ref", "doi", "license", "submitted_at", "updated_at", "announced_on",
    "latest_version", "source", "content_hash",
)
_HASH = PAPER_COLUMNS.index("content_hash")
_DIALECTS: dict[str, Dialect] = {sqlite.NAME: sqlite, postgres.NAME: postgres}


@dataclass(slots=True)
class PaperRows:
    """A batch of distinct papers as row tuples. Child rows start with the paper's index in
    ``papers`` where the table has paper_id; the writer swaps in the id."""

    dialect: str  # sqlite.NAME or postgres.NAME: the form dates are in
    papers: list[tuple[Any, ...]] = field(default_factory=list)  # PAPER_COLUMNS
    given_primary: list[str | None] = field(default_factory=list)  # as the source said it
    authors: list[tuple[int, int, str, str | None]] = field(default_factory=list)
    # ^ (index, position, name_key, affiliation); author_names[k] is row k's display name
    author_names: list[str] = field(default_factory=list)
    categories: list[tuple[int, str, bool]] = field(default_factory=list)  # (i, cat, primary)
    versions: list[tuple[int, int, Any, str | None]] = field(default_factory=list)
    links: list[tuple[int, str, str]] = field(default_factory=list)  # (i, url, kind)
    signals: list[tuple[int, str, str, str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.papers)

    def papers_at(self, indexes: Iterable[int]) -> list[Paper]:
        """The Paper records that rows ``indexes`` (distinct) were built from, in that
        order; equal to the originals (on SQLite datetimes come back as aware UTC)."""
        read = _DIALECTS[self.dialect].read_time
        wanted = {i: n for n, i in enumerate(indexes)}
        out: list[Paper] = []
        for i in wanted:
            r = self.papers[i]
            out.append(
                Paper(
                    arxiv_id=r[0], title=r[1], abstract=r[2],
                    primary_category=self.given_primary[i],
                    comments=r[5], journal_ref=r[6], doi=r[7], license=r[8],
                    submitted_at=read(r[9]), updated_at=read(r[10]), announced_on=read(r[11]),
                    source=r[13],
                )
            )
        for (i, _pos, _key, affiliation), name in zip(self.authors, self.author_names, strict=True):
            if i in wanted:
                out[wanted[i]].authors.append(Author(name, affiliation))
        for i, cat, _primary in self.categories:
            if i in wanted:
                out[wanted[i]].categories.append(cat)
        for i, version, submitted, size in self.versions:
            if i in wanted:
                out[wanted[i]].versions.append(Version(version, read(submitted), size))
        for i, url, kind in self.links:
            if i in wanted and safe_url(url):
                out[wanted[i]].links.append(Link(url, kind))
        for i, source, kind, value, observed in self.signals:
            if i in wanted:
                out[wanted[i]].signals.append(Signal(source, kind, value, read(observed)))
        return out


def paper_rows(
    batch: Iterable[Paper], dialect: str, *, hashes: Mapping[str, str] | None = None
) -> PaperRows:
    """Row tuples for ``batch``. Later records of an arXiv id merge into the first one
    (merge_papers). ``hashes`` (arxiv_id -> content_hash) may give digests already known;
    the rest are computed. ``dialect`` is the name of the database the rows are for."""
    by_id: dict[str, Paper] = {}
    merged: set[str] = set()
    for paper in batch:
        prev = by_id.get(paper.arxiv_id)
        if prev is not None:
            merged.add(paper.arxiv_id)
            paper = merge_papers(prev, paper)
        by_id[paper.arxiv_id] = paper
    known = hashes or {}
    bind = _DIALECTS[dialect].bind_time
    out = PaperRows(dialect)
    rows, given, authors, names = out.papers, out.given_primary, out.authors, out.author_names
    categories = out.categories
    for i, p in enumerate(by_id.values()):
        digest = (None if p.arxiv_id in merged else known.get(p.arxiv_id)) or content_hash(p)
        cats = p.categories
        primary = p.primary_category or (cats[0] if cats else None)
        paper_names = [a.name for a in p.authors]
        rows.append((
            p.arxiv_id, p.title, p.abstract, ", ".join(paper_names), primary, p.comments,
            p.journal_ref, p.doi, p.license, bind(p.submitted_at), bind(p.updated_at),
            bind(p.announced_on), p.latest_version, p.source, digest,
        ))
        given.append(p.primary_category)
        for pos, a in enumerate(p.authors):
            authors.append((i, pos, author_key(a.name), a.affiliation))
        names.extend(paper_names)
        for cat in cats:
            categories.append((i, cat, cat == primary))
        for v in p.versions:
            out.versions.append((i, v.version, bind(v.submitted_at), v.size))
        for link in p.links:
            out.links.append((i, link.url, link.kind))
        for s in p.signals:
            out.signals.append((i, s.source, s.kind, s.value, bind(s.observed_on)))
    return out


def write_paper_rows(
    conn: Connection,
    rows: PaperRows,
    *,
    now: dt.datetime | None = None,
    author_ids: AuthorIds | None = None,
) -> ImportSummary:
    """Insert new papers, merge changed ones, leave identical ones alone.

    Input: ``rows`` from :func:`paper_rows` for this connection's dialect. Output: counts
    of inserted / updated / unchanged. Side effects: rows in papers and its child tables
    and authors; the keyword index follows (FTS5 rows added with new papers and by trigger
    on update on SQLite, the generated column on PostgreSQL). Idempotent.
    """
    dialect = _DIALECTS[conn.dialect.name]
    if rows.dialect != dialect.NAME:
        raise ValueError(f"rows built for {rows.dialect}, written to {dialect.NAME}")
    now = now or dt.datetime.now(dt.UTC)
    author_ids = author_ids or AuthorIds()
    summary = ImportSummary()
    if not rows.papers:
        return summary
    existing = dialect.find_papers(conn, [r[0] for r in rows.papers])
    new: list[int] = []
    changed: list[int] = []
    for i, r in enumerate(rows.papers):
        found = existing.get(r[0])
        if found is None:
            new.append(i)
        elif found[1] == r[_HASH]:
            summary.unchanged += 1
        else:
            changed.append(i)

    updates: list[tuple[int, Paper, str]] = []  # (id, merged paper, its hash)
    if changed:
        stored = load_papers(conn, [rows.papers[i][0] for i in changed])
        for paper in rows.papers_at(changed):
            pid, old_hash = existing[paper.arxiv_id]
            merged = merge_papers(stored[paper.arxiv_id], paper)
            digest = content_hash(merged)
            if digest == old_hash:
                summary.unchanged += 1
            else:
                updates.append((pid, merged, digest))
    if not new and not updates:
        return summary
    update_rows = paper_rows(
        [p for _, p, _ in updates], rows.dialect, hashes={p.arxiv_id: d for _, p, d in updates}
    )

    # Authors first (paper_authors refers to them), named as first seen: new papers, then
    # updated ones.
    names: dict[str, str] = {}
    if len(new) == len(rows.papers):
        for (_, _, key, _), name in zip(rows.authors, rows.author_names, strict=True):
            names.setdefault(key, name)
    else:
        wanted = set(new)
        for (i, _, key, _), name in zip(rows.authors, rows.author_names, strict=True):
            if i in wanted:
                names.setdefault(key, name)
    for (_, _, key, _), name in zip(update_rows.authors, update_rows.author_names, strict=True):
        names.setdefault(key, name)
    author_ids.resolve(conn, names)

    pid_of: list[int | None] = [None] * len(rows.papers)
    if new:
        ids = dialect.insert_papers(conn, PAPER_COLUMNS, [rows.papers[i] for i in new], now)
        for i, pid in zip(new, ids, strict=True):
            pid_of[i] = pid
        summary.inserted = len(new)
        _insert_children(conn, rows, pid_of, author_ids)
    if updates:
        update_ids = [pid for pid, _, _ in updates]
        for table in (paper_authors, paper_categories, paper_versions, paper_links, paper_signals):
            for chunk in _chunks(update_ids, _CHUNK):
                conn.execute(delete(table).where(table.c.paper_id.in_(chunk)))
        for pid, paper, digest in updates:
            values = _paper_row(paper, now, digest)
            for keep in ("arxiv_id", "first_seen_at", "source"):
                values.pop(keep)
            conn.execute(update(papers).where(papers.c.id == pid).values(**values))
        summary.updated = len(updates)
        _insert_children(conn, update_rows, list(update_ids), author_ids)
    return summary


def _insert_children(
    conn: Connection, rows: PaperRows, pid_of: Sequence[int | None], author_ids: AuthorIds
) -> None:
    """Child rows of the papers that have an id in ``pid_of`` (index -> id or None)."""
    insert = _DIALECTS[rows.dialect].insert_tuples
    aid = author_ids.ids
    insert(
        conn, "paper_authors", ("paper_id", "position", "author_id", "affiliation"),
        [(pid_of[i], pos, aid[key], aff) for i, pos, key, aff in rows.authors
         if pid_of[i] is not None],
    )
    insert(
        conn, "paper_categories", ("paper_id", "category", "is_primary"),
        [(pid_of[i], cat, primary) for i, cat, primary in rows.categories
         if pid_of[i] is not None],
    )
    insert(
        conn, "paper_versions", ("paper_id", "version", "submitted_at", "size"),
        [(pid_of[r[0]], *r[1:]) for r in rows.versions if pid_of[r[0]] is not None],
    )
    insert(
        conn, "paper_links", ("paper_id", "url", "kind"),
        [(pid_of[r[0]], *r[1:]) for r in rows.links if pid_of[r[0]] is not None],
    )
    insert(
        conn, "paper_signals", ("paper_id", "source", "kind", "value", "observed_on"),
        [(pid_of[r[0]], *r[1:]) for r in rows.signals if pid_of[r[0]] is not None],
    )


__all__ = ["PAPER_COLUMNS", "PaperRows", "paper_rows", "write_paper_rows"]
