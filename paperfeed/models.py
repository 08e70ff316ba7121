"""Plain dataclasses shared by every layer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")


def pickles_by_constructor(cls: type[T]) -> type[T]:
    """Pickle a slots dataclass as (cls, field values) instead of through dataclasses'
    generic __setstate__, which calls fields() per object: unpickling a batch of papers
    sent from the bulk importer's parser process was 4x slower that way."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def __reduce__(self: Any) -> tuple[type[T], tuple[Any, ...]]:
        return cls, tuple(getattr(self, n) for n in names)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


@pickles_by_constructor
@dataclass(frozen=True, slots=True)
class Author:
    name: str
    affiliation: str | None = None


@pickles_by_constructor
@dataclass(frozen=True, slots=True)
class Version:
    version: int
    submitted_at: dt.datetime | None = None
    size: str | None = None


@pickles_by_constructor
@dataclass(frozen=True, slots=True)
class Link:
    url: str
    kind: str  # "code" | "project" | "data" | "other"


@pickles_by_constructor
@dataclass(frozen=True, slots=True)
class Signal:
    """An outside judgement of a paper, tagged with where it came from (e.g. HF upvotes)."""

    source: str  # "hf"
    kind: str  # "upvotes" | "submitter" | "github_repo" | "project_page" | "comments" ...
    value: str
    observed_on: dt.date | None = None


@pickles_by_constructor
@dataclass(slots=True)
class Paper:
    """A normalised paper record as produced by every ingest source.

    ``arxiv_id`` is versionless (``2503.11731``, ``hep-th/9901001``). ``categories`` holds
    arXiv categories only, the primary one first. Optional fields left as None mean "the
    source did not say", and an upsert never overwrites a known value with None.
    """

    arxiv_id: str
    title: str
    abstract: str
    authors: list[Author] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    primary_category: str | None = None
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    submitted_at: dt.datetime | None = None  # v1 date
    updated_at: dt.datetime | None = None  # latest version date
    announced_on: dt.date | None = None  # the listing day it was announced
    versions: list[Version] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    source: str = "unknown"  # "arxiv-rss" | "arxiv-api" | "oai" | "hf" | "bulk" | "kaggle"

    @property
    def latest_version(self) -> int:
        return max((v.version for v in self.versions), default=1)


@pickles_by_constructor
@dataclass(slots=True)
class Rejected:
    """A record a source could not turn into a Paper: where it was and why."""

    position: str  # "line 17", "entry 3 of page 2", ...
    reason: str


@dataclass(slots=True)
class ImportSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # upstream failures after retries

    @property
    def read(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def add(self, other: ImportSummary) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        self.rejections.extend(other.rejections)
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, int]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


@dataclass(frozen=True, slots=True)
class Hit:
    """One search or similar-papers result."""

    arxiv_id: str
    title: str
    score: float
    snippet: str = ""
    reasons: tuple[str, ...] = ()
