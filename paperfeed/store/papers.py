"""Writing and reading papers: idempotent batched upserts and the lookups every layer uses.

Functions take a connection and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from paperfeed.models import Author, ImportSummary, Link, Paper, Signal, Version
from paperfeed.safe_urls import safe_url

from .database import dialect
from .schema import (
    authors,
    paper_authors,
    paper_categories,
    paper_links,
    paper_signals,
    paper_versions,
    papers,
)

_CHUNK = 500  # ids per IN (...) list: far below both databases' parameter limits


def content_hash(paper: Paper) -> str:
    """A digest of everything a paper row and its children store (not where it came from)."""
    payload = [
        paper.arxiv_id,
        paper.title,
        paper.abstract,
        [(a.name, a.affiliation) for a in paper.authors],
        paper.categories,
        paper.primary_category,
        paper.comments,
        paper.journal_ref,
        paper.doi,
        paper.license,
        _iso(paper.submitted_at),
        _iso(paper.updated_at),
        _iso(paper.announced_on),
        sorted((v.version, _iso(v.submitted_at), v.size) for v in paper.versions),
        sorted((link.url, link.kind) for link in paper.links),
        sorted((s.source, s.kind, s.value, _iso(s.observed_on)) for s in paper.signals),
    ]
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat()


def merge_papers(old: Paper, new: Paper) -> Paper:
    """What we know after ``new`` arrives for a paper we had as ``old``.

    Newer text wins; a value the new source does not give is kept; the first announcement
    day and submission date and the newest update date are kept; versions, links and
    signals are united (a signal of the same source and kind is replaced).
    """

    def pick(a: Any, b: Any) -> Any:
        return b if b not in (None, "", []) else a

    authors_ = new.authors or old.authors
    if new.authors and old.authors and [a.name for a in new.authors] == [
        a.name for a in old.authors
    ]:
        authors_ = [
            Author(n.name, n.affiliation or o.affiliation)
            for n, o in zip(new.authors, old.authors, strict=True)
        ]
    versions = {v.version: v for v in old.versions}
    for v in new.versions:
        prev = versions.get(v.version)
        versions[v.version] = Version(
            v.version,
            v.submitted_at or (prev.submitted_at if prev else None),
            v.size or (prev.size if prev else None),
        )
    links = {link.url: link for link in old.links}
    links.update({link.url: link for link in new.links})
    signals = {(s.source, s.kind): s for s in old.signals}
    signals.update({(s.source, s.kind): s for s in new.signals})
    return Paper(
        arxiv_id=old.arxiv_id,
        title=pick(old.title, new.title),
        abstract=pick(old.abstract, new.abstract),
        authors=authors_,
        categories=new.categories or old.categories,
        primary_category=pick(old.primary_category, new.primary_category),
        comments=pick(old.comments, new.comments),
        journal_ref=pick(old.journal_ref, new.journal_ref),
        doi=pick(old.doi, new.doi),
        license=pick(old.license, new.license),
        submitted_at=_earliest(old.submitted_at, new.submitted_at),
        updated_at=_latest(old.updated_at, new.updated_at),
        announced_on=_earliest(old.announced_on, new.announced_on),
        versions=[versions[k] for k in sorted(versions)],
        links=list(links.values()),
        signals=[signals[k] for k in sorted(signals)],
        source=old.source,
    )


def _earliest(a: Any, b: Any) -> Any:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _latest(a: Any, b: Any) -> Any:
    return max(x for x in (a, b) if x is not None) if (a or b) else None


class AuthorIds:
    """name_key -> authors.id, remembered across the batches of one import."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def resolve(self, conn: Connection, names: dict[str, str]) -> None:
        """Make sure every name_key in ``names`` (key -> display name) has a row and an id."""
        missing = [k for k in names if k not in self.ids]
        sql = dialect(conn)
        self.ids.update(sql.find_authors(conn, missing))
        new = {k: names[k] for k in missing if k not in self.ids}
        if new:
            self.ids.update(sql.insert_authors(conn, authors, new))


def upsert_papers(
    conn: Connection,
    batch: Sequence[Paper],
    *,
    now: dt.datetime | None = None,
    author_ids: AuthorIds | None = None,
    hashes: Mapping[str, str] | None = None,
) -> ImportSummary:
    """Insert new papers, merge changed ones, leave identical ones alone.

    Input: normalised Paper records (later records of an arXiv id in the batch merge into
    the first), and optionally ``hashes``: arxiv_id -> content_hash(paper) already
    computed by the caller. Output: counts of inserted / updated / unchanged. Side effects:
    rows in papers and its child tables; the keyword index follows (see
    paper_rows.write_paper_rows, which this is paper_rows() then). Running it twice with the
    same input changes nothing.
    """
    from .paper_rows import paper_rows, write_paper_rows

    rows = paper_rows(batch, dialect(conn).NAME, hashes=hashes)
    return write_paper_rows(conn, rows, now=now, author_ids=author_ids)


def _paper_row(paper: Paper, now: dt.datetime, digest: str) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors_text": ", ".join(a.name for a in paper.authors),
        "primary_category": paper.primary_category
        or (paper.categories[0] if paper.categories else None),
        "comments": paper.comments,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "license": paper.license,
        "submitted_at": paper.submitted_at,
        "updated_at": paper.updated_at,
        "announced_on": paper.announced_on,
        "latest_version": paper.latest_version,
        "source": paper.source,
        "first_seen_at": now,
        "content_hash": digest,
    }


def load_papers(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
    """Full Paper records (authors, categories, versions, links, signals) by arXiv id."""
    out: dict[str, Paper] = {}
    pid_to_arxiv: dict[int, str] = {}
    for chunk in _chunks(list(arxiv_ids), _CHUNK):
        for r in conn.execute(select(papers).where(papers.c.arxiv_id.in_(chunk))):
            pid_to_arxiv[r.id] = r.arxiv_id
            out[r.arxiv_id] = Paper(
                arxiv_id=r.arxiv_id,
                title=r.title,
                abstract=r.abstract,
                primary_category=r.primary_category,
                comments=r.comments,
                journal_ref=r.journal_ref,
                doi=r.doi,
                license=r.license,
                submitted_at=r.submitted_at,
                updated_at=r.updated_at,
                announced_on=r.announced_on,
                source=r.source,
            )
    pids = list(pid_to_arxiv)
    for chunk in _chunks(pids, _CHUNK):
        for r in conn.execute(
            select(paper_authors.c.paper_id, authors.c.name, paper_authors.c.affiliation)
            .join(authors, authors.c.id == paper_authors.c.author_id)
            .where(paper_authors.c.paper_id.in_(chunk))
            .order_by(paper_authors.c.paper_id, paper_authors.c.position)
        ):
            out[pid_to_arxiv[r.paper_id]].authors.append(Author(r.name, r.affiliation))
        for r in conn.execute(
            select(paper_categories).where(paper_categories.c.paper_id.in_(chunk))
        ):
            p = out[pid_to_arxiv[r.paper_id]]
            if r.is_primary:
                p.categories.insert(0, r.category)
            else:
                p.categories.append(r.category)
        for r in conn.execute(
            select(paper_versions)
            .where(paper_versions.c.paper_id.in_(chunk))
            .order_by(paper_versions.c.paper_id, paper_versions.c.version)
        ):
            out[pid_to_arxiv[r.paper_id]].versions.append(
                Version(r.version, r.submitted_at, r.size)
            )
        for r in conn.execute(select(paper_links).where(paper_links.c.paper_id.in_(chunk))):
            if safe_url(r.url):  # only http(s) ever becomes a link
                out[pid_to_arxiv[r.paper_id]].links.append(Link(r.url, r.kind))
        for r in conn.execute(
            select(paper_signals)
            .where(paper_signals.c.paper_id.in_(chunk))
            .order_by(paper_signals.c.source, paper_signals.c.kind)
        ):
            out[pid_to_arxiv[r.paper_id]].signals.append(
                Signal(r.source, r.kind, r.value, r.observed_on)
            )
    # Category order is not stored beyond "primary first": keep the rest sorted, stably.
    for p in out.values():
        if p.categories:
            head, rest = p.categories[0], p.categories[1:]
            if head == p.primary_category:
                p.categories = [head, *sorted(rest)]
            else:
                p.categories = sorted(p.categories)
    return out


def get_paper(conn: Connection, arxiv_id: str) -> Paper | None:
    """One full Paper by versionless arXiv id, or None."""
    return load_papers(conn, [arxiv_id]).get(arxiv_id)


def count_papers(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(papers)).scalar_one())


def newest_announced_on(conn: Connection) -> dt.date | None:
    """The newest announcement day in the database: what the site calls "today"."""
    return conn.execute(select(func.max(papers.c.announced_on))).scalar_one()


def listed_on(conn: Connection, category: str, day: dt.date, *,
              ignore_sources: Sequence[str] = ()) -> bool:
    """Whether any paper in ``category`` has announcement day ``day``, counting only papers
    first seen from a source not in ``ignore_sources`` (one indexed lookup)."""
    query = (
        select(papers.c.id)
        .join(paper_categories, paper_categories.c.paper_id == papers.c.id)
        .where(papers.c.announced_on == day, paper_categories.c.category == category)
        .limit(1)
    )
    if ignore_sources:
        query = query.where(papers.c.source.not_in(list(ignore_sources)))
    return conn.execute(query).first() is not None


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = [
    "AuthorIds",
    "content_hash",
    "count_papers",
    "get_paper",
    "listed_on",
    "load_papers",
    "merge_papers",
    "newest_announced_on",
    "upsert_papers",
]
