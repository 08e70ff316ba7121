"""Saved array sets, mapped read-only: how every web worker shares one copy of the search
index (the BM25 postings of index/terms.py, the SQLite vector matrix of
index/sqlite_backend.py) instead of holding a private copy each.

A set is a directory ``<root>/<name>-<tag>-<time ns>-<pid>/`` of ``.npy`` files plus a
``meta.json`` that lists each array's shape and dtype. It is written under a temporary
name and renamed into place (one atomic rename), so a reader sees a whole set or none.
Readers open the files with ``np.load(mmap_mode="r")``: the pages belong to the page cache,
shared by every process that maps them, and count once in the machine's memory (PSS splits
them between the mappers). A set whose files do not match its ``meta.json`` (torn,
truncated, another format) is ignored, never trusted. Only the newest ``keep`` sets of a
name stay on disk; removing an older one is safe while processes still map it (Linux keeps
the pages until the last unmap).

``build_lock`` serialises builders across processes (an advisory ``flock``), so that when
N workers find the same stale index one of them builds and saves and the others map its
result.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)
FORMAT = 2  # 1 was the single .npz file of index/terms.py (a private copy per process)
CACHE_DIR_OPTION = "paperfeed_cache_dir"  # an engine execution option


def use_cache_dir(engine: Engine, path: str | Path | None) -> None:
    """Save the search index sets of ``engine`` under ``path`` (``terms/``, ``vectors/``)
    and start processes from them. Side effect: sets an execution option on ``engine``
    (None: nothing saved, every process keeps its own copy)."""
    engine.update_execution_options(**{CACHE_DIR_OPTION: Path(path).expanduser()
                                       if path else None})


def saved_root(conn: Connection, kind: str) -> Path | None:
    """Where sets of ``kind`` ("terms", "vectors") are saved for ``conn``'s engine."""
    base: Path | None = conn.get_execution_options().get(CACHE_DIR_OPTION)
    return base / kind if base is not None else None


def saved_sets(root: Path, name: str) -> list[Path]:
    """The complete sets of ``name`` under ``root``, newest first."""
    try:
        found = [p for p in root.glob(f"{name}-*") if p.is_dir() and not p.name.endswith(".tmp")]
    except OSError:
        return []
    stamped = []
    for path in found:
        with contextlib.suppress(ValueError, IndexError):
            stamped.append((int(path.name.rsplit("-", 2)[-2]), path))
    return [p for _, p in sorted(stamped, reverse=True)]


def save_set(root: Path, name: str, tag: str, meta: dict[str, Any],
             arrays: dict[str, np.ndarray], *, keep: int) -> Path | None:
    """Write ``arrays`` and ``meta`` as a new set of ``name``; returns its directory, or None
    when it could not be written (logged). Side effects: the directory; sets of ``name``
    beyond the newest ``keep`` removed."""
    tmp: str | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=root, prefix=f".{name}-", suffix=".tmp")
        shapes = {}
        for key, value in arrays.items():
            value = np.ascontiguousarray(value)
            np.save(Path(tmp) / f"{key}.npy", value, allow_pickle=False)
            shapes[key] = [list(value.shape), value.dtype.str]
        body = json.dumps({**meta, "format": FORMAT, "arrays": shapes})
        (Path(tmp) / "meta.json").write_text(body)
        final = root / f"{name}-{tag}-{time.time_ns()}-{os.getpid()}"
        os.rename(tmp, final)
        tmp = None
        for old in saved_sets(root, name)[keep:]:
            shutil.rmtree(old, ignore_errors=True)
        return final
    except OSError:
        log.warning("could not save %s under %s", name, root, exc_info=True)
        return None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def load_set(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """A saved set's meta and its arrays mapped read-only, or None (logged) when the set is
    unreadable or its files do not match its meta."""
    try:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            return None
        arrays = {}
        for key, (shape, dtype) in meta["arrays"].items():
            file = path / f"{key}.npy"
            # an empty array cannot be mapped (mmap of length 0): read it
            value = np.load(file, mmap_mode="r" if int(np.prod(shape)) else None,
                            allow_pickle=False)
            if list(value.shape) != list(shape) or value.dtype.str != dtype:
                raise ValueError(f"{file}: {value.shape} {value.dtype.str}, meta says "
                                 f"{shape} {dtype}")
            arrays[key] = np.asarray(value)  # a plain ndarray view of the map (no copy)
        return meta, arrays
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        log.warning("ignoring an unreadable saved set: %s", path, exc_info=True)
        return None


@contextlib.contextmanager
def build_lock(root: Path | None, name: str) -> Iterator[None]:
    """Hold an exclusive lock on ``root/name.lock`` (nothing without a root)."""
    if root is None:
        yield
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        log.warning("no build lock under %s", root, exc_info=True)
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
