"""Bulk files: JSON Lines (plain or .gz), Kaggle snapshot or paperfeed listing schema.

The file is streamed (the Kaggle snapshot is 4+ GB), committed in batches, and the line
reached is checkpointed with each batch, so a run killed midway resumes where it stopped
and ends with the same database as an uninterrupted one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from paperfeed.models import ImportSummary, Paper, Rejected
from paperfeed.store.checkpoints import clear_checkpoint, get_checkpoint, set_checkpoint
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import AuthorIds, upsert_papers

from .normalize import InvalidRecord
from .records import paper_from_json

SOURCE = "bulk"
BATCH = 5000
MAX_KEPT_REJECTIONS = 1000  # the count is exact; only the first reasons are kept

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


def open_lines(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(raw file for progress, decoded stream of lines) for plain or gzip files."""
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
    return raw, stream


def read_records(
    stream: IO[bytes], skip: int = 0
) -> Iterator[tuple[int, Paper | Rejected]]:
    """(line number, Paper or Rejected) for every non-blank line after the first ``skip``."""
    for number, line in enumerate(stream, start=1):
        if number <= skip or not line.strip():
            continue
        try:
            record = json.loads(line)
            yield number, paper_from_json(record)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield number, Rejected(f"line {number}", f"bad JSON: {exc}")
        except InvalidRecord as exc:
            yield number, Rejected(f"line {number}", str(exc))


def import_file(
    engine: Engine, path: Path, *, progress: Progress | None = None, batch_size: int = BATCH
) -> ImportSummary:
    """Import a JSON Lines file into the store; returns what happened.

    Side effects: papers upserted in batches, one transaction each, with the checkpoint
    (line reached) saved in the same transaction; the checkpoint is removed at the end so
    that the next import of the same file reads it again (and finds it unchanged).
    Raises OSError when the file cannot be opened; EOFError for a truncated .gz only if
    nothing could be read before the truncation.
    """
    path = Path(path)
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    with engine.connect() as conn:
        start = int(get_checkpoint(conn, SOURCE, key) or 0)
    summary = ImportSummary()
    author_ids = AuthorIds()
    raw, stream = open_lines(path)
    total = stat.st_size
    pending: list[Paper] = []
    last_line = start

    def flush() -> None:
        with write_transaction(engine) as conn:
            if pending:
                summary.add(upsert_papers(conn, pending, author_ids=author_ids))
            set_checkpoint(conn, SOURCE, key, str(last_line))
        pending.clear()
        if progress:
            progress(raw.tell(), total)

    with raw:
        try:
            for number, item in read_records(stream, skip=start):
                last_line = number
                if isinstance(item, Rejected):
                    summary.rejected += 1
                    if len(summary.rejections) < MAX_KEPT_REJECTIONS:
                        summary.rejections.append(item)
                    continue
                pending.append(item)
                if len(pending) >= batch_size:
                    flush()
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            # A truncated or corrupt .gz: keep what landed, report where it broke.
            summary.errors.append(f"{path.name}: stopped after line {last_line}: {exc}")
            flush()
            return summary
        flush()
    with write_transaction(engine) as conn:
        clear_checkpoint(conn, SOURCE, key)
    if progress:
        progress(total, total)
    return summary


