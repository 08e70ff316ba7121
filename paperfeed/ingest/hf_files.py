"""Archived Hugging Face daily papers: ``/api/daily_papers`` responses kept in files.

``paperfeed ingest hf --from-file PATH`` backfills history from them, and ``paperfeed demo``
imports the bundled slice. A file holds the API's JSON shape: one JSON array of daily-paper
items, or JSON Lines (one item a line), either gzipped (``.gz``) or not. PATH is such a file
or a folder of them (read in name order, so dated files go oldest first and the newest
counts win). The day of an item is its ``submittedOnDailyAt`` (or a ``date`` field),
else the ``YYYY-MM-DD`` in the file name (``2025-03-18.json.gz``). Items are read exactly
as :func:`paperfeed.ingest.hf_daily.paper_from_daily` reads a live reply; malformed ones
are reported (file and position) and skipped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperfeed.models import ImportSummary, Paper, Rejected
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import AuthorIds

from .hf_daily import SOURCE, decode_daily_list, defer_to_stored, paper_from_daily
from .normalize import InvalidRecord, parse_date
from .pages import Progress, finish_run, record_rejection, store_page

SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def daily_files(path: Path) -> list[Path]:
    """``path`` itself, or the archive files (:data:`SUFFIXES`) in the folder ``path``, by
    name. Raises FileNotFoundError when ``path`` does not exist."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return [path]


def _day_of_name(path: Path) -> dt.date | None:
    found = _DAY_IN_NAME.search(path.name)
    if not found:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        return None


def _day_of_item(item: Any, fallback: dt.date | None) -> dt.date:
    """The daily-papers day of ``item``: its own field, else ``fallback``."""
    if isinstance(item, dict):
        nested = item.get("paper")
        paper: dict[str, Any] = nested if isinstance(nested, dict) else {}
        for value in (paper.get("submittedOnDailyAt"), item.get("submittedOnDailyAt"),
                      item.get("date")):
            if isinstance(value, str) and value.strip():
                day = parse_date(value.strip()[:10], "submittedOnDailyAt")
                if day is not None:
                    return day
    if fallback is None:
        raise InvalidRecord("no day: neither submittedOnDailyAt nor a date in the file name")
    return fallback


def read_items(path: Path) -> Iterator[tuple[str, Any]]:
    """(position, decoded item) for every item of one archive file; an undecodable
    JSON Lines line comes as (position, InvalidRecord). Raises InvalidRecord when a
    whole-file JSON document is broken or is not an array, OSError when unreadable."""
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode("utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        for number, item in enumerate(decode_daily_list(stripped), start=1):
            yield f"{path.name} item {number}", item
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{path.name} line {number}", json.loads(line)
        except ValueError as exc:
            yield f"{path.name} line {number}", InvalidRecord(f"bad JSON: {exc}")


def parse_daily_file(path: Path) -> list[tuple[dt.date, Paper] | Rejected]:
    """Every item of one archive file as (day, Paper), or Rejected with its position."""
    fallback = _day_of_name(path)
    out: list[tuple[dt.date, Paper] | Rejected] = []
    try:
        for position, item in read_items(path):
            try:
                if isinstance(item, InvalidRecord):
                    raise item
                day = _day_of_item(item, fallback)
                out.append((day, paper_from_daily(item, day)))
            except InvalidRecord as exc:
                out.append(Rejected(position, str(exc)))
    except (InvalidRecord, OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        out.append(Rejected(path.name, f"unreadable: {exc}"))
    return out


def import_daily_files(
    engine: Engine, path: Path, *, progress: Progress | None = None
) -> ImportSummary:
    """Import archived daily-papers responses from a file or a folder of them.

    Output: the run's summary (malformed items and unreadable files as rejections).
    Side effects: each file's papers upserted with their ``hf`` signals dated on their
    day, one transaction per file and day (papers known from another source keep their
    text, as with a live ``ingest hf``). Raises FileNotFoundError for a missing ``path``.
    """
    files = daily_files(Path(path))
    summary = ImportSummary()
    author_ids = AuthorIds()
    key = f"file:{Path(path).resolve()}"[:255]
    for done, file in enumerate(files, start=1):
        by_day: dict[dt.date, dict[str, Paper]] = {}
        for entry in parse_daily_file(file):
            if isinstance(entry, Rejected):
                record_rejection(summary, entry)
            else:
                by_day.setdefault(entry[0], {})[entry[1].arxiv_id] = entry[1]
        for day in sorted(by_day):
            with write_transaction(engine) as conn:
                papers = defer_to_stored(conn, list(by_day[day].values()))
                summary.add(store_page(conn, papers, source=SOURCE, key=key,
                                       cursor=day.isoformat(), author_ids=author_ids))
        if progress:
            progress(done, len(files))
    finish_run(engine, SOURCE, key)
    return summary


__all__ = ["SUFFIXES", "daily_files", "import_daily_files", "parse_daily_file", "read_items"]
