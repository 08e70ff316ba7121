"""The objects a web server process builds at start-up, moved out of the cyclic GC's way.

A started web worker holds ~159,000 objects the garbage collector tracks (modules,
functions, templates, compiled queries, ...), nearly all of them for its whole life. Every
full (generation 2) collection walks all of them while the event loop waits: 50-65 ms on
this project's 2-core VM, 71-359 ms under CPU contention, about once per 10 s per worker
under wrk load; every request in flight in that worker waits with it (docs/benchmarks.md,
"Web pages", issue 15). ``gc.freeze()`` once the start-up (the search warm-up) is over
moves them to the permanent generation, which collections skip: a full collection then
takes ~0.1 ms. The cost: cyclic garbage that exists at that moment is never freed, so the
start-up's garbage is collected first.
"""

from __future__ import annotations

import gc
import threading


def freeze_after(startup: threading.Thread | None) -> threading.Thread:
    """A daemon thread that waits for ``startup`` (None: nothing to wait for), collects
    the garbage, then freezes every object the process holds (gc.freeze)."""
    def run() -> None:
        if startup is not None:
            startup.join()
        gc.collect()  # what is frozen is never freed: the start-up's garbage goes first
        gc.freeze()

    thread = threading.Thread(target=run, name="paperfeed-gc-freeze", daemon=True)
    thread.start()
    return thread
