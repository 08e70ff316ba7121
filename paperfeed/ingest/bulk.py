"""Bulk files: JSON Lines (plain or .gz), Kaggle snapshot or paperfeed listing schema.

The file is streamed (the Kaggle snapshot is 4+ GB, never loaded whole), parsed in a
second process while this one writes (parsing and SQLite's indexing each take about half
the time, and there are two cores), committed in batches, and the line reached is
checkpointed with each batch, so a run killed midway resumes where it stopped and ends
with the same database as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import itertools
import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from sqlalchemy import Engine

from paperfeed.models import ImportSummary, Paper, Rejected
from paperfeed.store.checkpoints import clear_checkpoint, get_checkpoint, set_checkpoint
from paperfeed.store.database import write_transaction
from paperfeed.store.paper_rows import PaperRows, paper_rows, write_paper_rows
from paperfeed.store.papers import AuthorIds

from .normalize import InvalidRecord
from .records import paper_from_json

SOURCE = "bulk"
BATCH = 5000
MAX_KEPT_REJECTIONS = 1000  # the count is exact; only the first reasons are kept

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class Batch:
    """What the parser hands the writer: the papers (as ready-made rows) and rejections
    up to ``last_line``. Rows, not Paper objects: unpickling those cost the writer more
    than writing them."""

    last_line: int
    position: int  # bytes of the file read so far, for progress
    rows: PaperRows | None = None
    rejections: list[Rejected] = field(default_factory=list)
    error: str | None = None  # the file broke off here (e.g. a truncated .gz)


def open_lines(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(raw file for progress, decoded stream of lines) for plain or gzip files."""
    raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by the caller
    magic = raw.read(2)
    raw.seek(0)
    stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if magic == b"\x1f\x8b" else raw
    return raw, stream


def parse_line(number: int, line: bytes) -> Paper | Rejected:
    """One JSON Lines record -> Paper, or Rejected with the line number and the reason."""
    try:
        return paper_from_json(json.loads(line))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Rejected(f"line {number}", f"bad JSON: {exc}")
    except InvalidRecord as exc:
        return Rejected(f"line {number}", str(exc))


def read_batches(
    path: Path, *, dialect: str = "sqlite", skip: int = 0, batch_size: int = BATCH
) -> Iterator[Batch]:
    """Stream ``path`` as batches of parsed records, skipping the first ``skip`` lines;
    the papers of each batch come as rows for the ``dialect`` database (paper_rows)."""
    raw, stream = open_lines(path)
    with raw:
        batch = Batch(last_line=skip, position=0)
        papers: list[Paper] = []
        number = 0
        try:
            for number, line in enumerate(stream, start=1):
                if number <= skip or not line.strip():
                    continue
                item = parse_line(number, line)
                if isinstance(item, Rejected):
                    batch.rejections.append(item)
                else:
                    papers.append(item)
                batch.last_line = number
                if len(papers) >= batch_size:
                    batch.rows = paper_rows(papers, dialect)
                    batch.position = raw.tell()
                    yield batch
                    batch = Batch(last_line=number, position=0)
                    papers = []
        except (EOFError, OSError, zlib.error) as exc:
            batch.error = f"{path.name}: stopped after line {batch.last_line}: {exc}"
        batch.rows = paper_rows(papers, dialect)
        batch.position = raw.tell()
        yield batch


def _send_batches(fd: int, path: str, dialect: str, skip: int, batch_size: int) -> None:
    """The parser process: batches, pickled and length-prefixed, to the pipe ``fd``; then
    a None. (A pipe of its own, not stdout, which a stray print() would corrupt.)"""
    # This process only parses: what it allocates is freed by reference counting (no
    # cycles), and the cycle collector's passes over millions of young objects cost
    # about 12% of parsing.
    gc.disable()
    out = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 - lives as long as the process
    batches = read_batches(Path(path), dialect=dialect, skip=skip, batch_size=batch_size)
    try:
        for batch in itertools.chain(batches, [None]):
            data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(len(data).to_bytes(8, "little"))
            out.write(data)
            out.flush()
    except BrokenPipeError:
        # The importer is gone (killed or stopped early): nobody to parse for, and nothing
        # to flush at exit either.
        os._exit(0)


def read_batches_in_background(
    path: Path, *, dialect: str = "sqlite", skip: int = 0, batch_size: int = BATCH
) -> Iterator[Batch]:
    """read_batches() run in a child process, a few batches ahead of the consumer."""
    # A fresh interpreter that imports only this module. Not fork: a forked child would
    # inherit the importer's database sockets and keep a killed importer's transaction
    # (and its locks) alive on PostgreSQL. Not multiprocessing's spawn either: it imports
    # the caller's __main__ again (for `paperfeed import`, the whole CLI: 0.5 s before the
    # first batch).
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    read_end, write_end = os.pipe()
    cmd = [sys.executable, "-m", __name__, str(write_end), str(path), dialect, str(skip),
           str(batch_size)]
    try:
        proc = subprocess.Popen(cmd, env=env, pass_fds=(write_end,))
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)  # the child's now: the pipe ends when the child does
    stream = open(read_end, "rb")  # noqa: SIM115 - closed below
    ahead: queue.Queue[Batch | None | BaseException] = queue.Queue(maxsize=3)

    def receive() -> None:
        # A thread: reading and unpickling overlap with the database work (sqlite3 and
        # psycopg release the GIL while the database works).
        try:
            while True:
                head = stream.read(8)
                data = stream.read(int.from_bytes(head, "little")) if len(head) == 8 else b""
                if not data:
                    code = proc.wait()
                    ahead.put(RuntimeError(f"the parser of {path} died (exit {code})"))
                    return
                batch = pickle.loads(data)
                ahead.put(batch)
                if batch is None:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            ahead.put(exc)

    receiver = threading.Thread(target=receive, name="bulk-import-receiver", daemon=True)
    receiver.start()
    try:
        while True:
            item = ahead.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if proc.poll() is None:
            proc.kill()
        while receiver.is_alive():  # let it finish its put() and see the end of the pipe
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.1)
        proc.wait()
        stream.close()


def import_file(
    engine: Engine,
    path: Path,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH,
    background: bool = True,
) -> ImportSummary:
    """Import a JSON Lines file into the store; returns what happened.

    Side effects: papers upserted in batches, one transaction each, with the checkpoint
    (line reached) saved in the same transaction; the checkpoint is removed at the end so
    that the next import of the same file reads it again (and finds it unchanged).
    A truncated or corrupt file keeps what was read before the break and reports it in
    ``summary.errors``. Raises OSError when the file cannot be opened.
    """
    path = Path(path)
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    with engine.connect() as conn:
        start = int(get_checkpoint(conn, SOURCE, key) or 0)
    open(path, "rb").close()  # fail here, in this process, if it cannot be read
    summary = ImportSummary()
    author_ids = AuthorIds()
    reader = read_batches_in_background if background else read_batches
    for batch in reader(path, dialect=engine.dialect.name, skip=start, batch_size=batch_size):
        summary.rejected += len(batch.rejections)
        room = MAX_KEPT_REJECTIONS - len(summary.rejections)
        summary.rejections.extend(batch.rejections[: max(room, 0)])
        with write_transaction(engine) as conn:
            if batch.rows:
                summary.add(write_paper_rows(conn, batch.rows, author_ids=author_ids))
            set_checkpoint(conn, SOURCE, key, str(batch.last_line))
        if progress:
            progress(batch.position, stat.st_size)
        if batch.error:
            summary.errors.append(batch.error)
            return summary
    with write_transaction(engine) as conn:
        clear_checkpoint(conn, SOURCE, key)
    return summary


if __name__ == "__main__":
    # The parser process of read_batches_in_background(). Run through the module's real
    # name, so that what it pickles names paperfeed.ingest.bulk.Batch, not __main__.Batch.
    from paperfeed.ingest.bulk import _send_batches as send

    send(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
