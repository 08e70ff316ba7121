"""Freed memory back to the system, now and then, in a web server process.

glibc returns freed memory to the system only from the top of a heap; what a burst of
requests frees below a block still in use stays in the process (the [heap] and arena
mappings of its smaps), so a worker's memory ratchets up with load. ``malloc_trim(0)``
gives every whole free page inside the heaps back (madvise). A server process calls it
every ``TRIM_SECONDS`` from a daemon thread (`start_trimming`, app.app_from_environment):
~10 MB less per web worker after a few minutes of load at 57,852 papers (docs/benchmarks.md,
"Memory per web worker"), for a walk over two arenas (serve's MALLOC_ARENA_MAX) twice a
minute. Elsewhere than on glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import platform
import threading
import time
from typing import Any

TRIM_SECONDS = 30.0


@functools.cache
def glibc() -> Any | None:
    """The C library, when it is glibc (its malloc_trim and mallopt); None elsewhere.
    Looked up once per process."""
    if platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(None)


def trim_heap() -> bool:
    """Give the free pages of this process's malloc heaps back to the system; True when
    some were released (always False without glibc)."""
    libc = glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def start_trimming(interval: float = TRIM_SECONDS) -> threading.Thread | None:
    """A daemon thread that trims the heaps every ``interval`` seconds (None without
    glibc: nothing to do)."""
    if glibc() is None:
        return None

    def run() -> None:
        while True:
            time.sleep(interval)
            trim_heap()

    thread = threading.Thread(target=run, name="paperfeed-heap-trim", daemon=True)
    thread.start()
    return thread
