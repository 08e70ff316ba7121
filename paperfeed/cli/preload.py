"""``paperfeed serve --workers N``: web workers forked from a supervisor that has already
imported what every worker imports, rather than spawned as fresh interpreters.

Spawned workers each import the web stack themselves (~70 MB of modules, the same in every
worker); forked ones share the supervisor's pages copy-on-write, and ``gc.freeze()`` keeps
the collector from writing into them. Only imports happen before the fork: no database
connection (the supervisor's engine is disposed first), no ONNX Runtime (it starts threads
when imported; each worker imports it and loads its session itself), no thread of ours;
numpy's OpenBLAS pool re-forms itself across a fork. uvicorn's supervisor is unchanged
(signals, a replacement for a worker that died, SIGHUP restarts); a forked worker starts
with the default signal handlers, as a spawned one does.
"""

from __future__ import annotations

import importlib
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# What a web worker imports while it serves (besides paperfeed.app itself): the routers,
# search and similar papers, the embedder's tokenizer, the PostgreSQL driver.
PRELOAD = (
    "paperfeed.app",
    "paperfeed.web.pages.papers",
    "paperfeed.web.api.search",
    "paperfeed.web.feeds.routes",
    "paperfeed.rank.search",
    "paperfeed.rank.similar",
    "paperfeed.rank.trending",
    "paperfeed.index.terms",
    "paperfeed.index.tfidf",
    "paperfeed.index.embedder",
    "paperfeed.store.migrate",
    "tokenizers",
)
POSTGRES_PRELOAD = ("psycopg", "sqlalchemy.dialects.postgresql.psycopg")
# the signals uvicorn's supervisor catches; its workers install their own for INT and TERM
_SIGNAL_NAMES = ("INT", "TERM", "HUP", "QUIT", "TTIN", "TTOU", "USR1", "USR2", "WINCH")
_SUPERVISOR_SIGNALS = tuple(getattr(signal, f"SIG{name}") for name in _SIGNAL_NAMES
                            if hasattr(signal, f"SIG{name}"))


def preload(database_url: str) -> list[str]:
    """Import the worker's modules here; returns their names."""
    from paperfeed.web.pages import page_routers

    page_routers()  # imports every page module
    names = list(PRELOAD)
    if database_url.startswith("postgresql"):
        names += POSTGRES_PRELOAD
    for name in names:
        importlib.import_module(name)
    return names


@contextmanager
def forked_workers(database_url: str) -> Iterator[None]:
    """While inside, uvicorn forks its workers from this process, which has preloaded their
    modules (frozen for the collector), with MALLOC_SETTINGS. Without fork (other
    platforms) they are spawned, with MALLOC_SETTINGS in their environment."""
    import gc
    import multiprocessing

    import uvicorn._subprocess

    tune_malloc()
    if "fork" not in multiprocessing.get_all_start_methods():
        yield
        return
    preload(database_url)
    gc.collect()
    gc.freeze()
    if not _forking:
        os.register_at_fork(after_in_child=_default_signals)
    _forking.append(True)
    starter: Any = uvicorn._subprocess  # get_subprocess() starts workers with its `spawn`
    spawn = starter.spawn
    starter.spawn = multiprocessing.get_context("fork")
    try:
        yield
    finally:
        starter.spawn = spawn
        _forking.pop()
        gc.unfreeze()


_forking: list[bool] = []  # inside forked_workers (os.register_at_fork cannot be undone)


# glibc malloc for a threaded server (its sync routes run in a threadpool): two arenas
# instead of up to 8 per core, and blocks of 1 MiB or more (numpy arrays of search and
# similar papers) always in their own mapping, returned to the system when freed; glibc's
# default raises that threshold after each large free (up to 32 MiB), after which such
# arrays come from the arenas and their freed memory stays in the process.
MALLOC_SETTINGS = {"MALLOC_ARENA_MAX": ("2", -8), "MALLOC_MMAP_THRESHOLD_": ("1048576", -3)}


def tune_malloc() -> list[str]:
    """Apply MALLOC_SETTINGS to this process (mallopt; forked workers inherit them) and to
    its environment (workers started afresh read it); an operator's own MALLOC_* variables
    win. Returns the variables applied; none on a C library other than glibc."""
    from paperfeed.web.heap_trim import glibc

    libc = glibc()
    if libc is None:
        return []
    mallopt = libc.mallopt
    applied = []
    for name, (value, param) in MALLOC_SETTINGS.items():
        if name not in os.environ and mallopt(param, int(value)) == 1:
            os.environ[name] = value
            applied.append(name)
    return applied


def _default_signals() -> None:
    """In a forked worker: the handlers a new interpreter has, not the supervisor's."""
    if not _forking:
        return
    for sig in _SUPERVISOR_SIGNALS:
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT
                      else signal.SIG_DFL)
