"""What a build of the BM25 postings costs the other threads of a web worker's process.

Usage (a corpus database; the cache directory is scratch, emptied first):

    python bench/warm_up_gil.py --db sqlite:////tmp/pf-bench.db --cache-dir /tmp/pf-gil

Serving-like work in this process (the uncached home page's queries, and 1 ms sleeps: how
long a thread that gave up the GIL waits to get it back) measured alone, while this
process tokenises the corpus (what the server's warm-up did before issue 15) and while a
child process does (index/term_builder.py, what it does now).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import threading
import time

from sqlalchemy import Engine


def measure(engine: Engine, label: str, busy: threading.Thread | None) -> None:
    from paperfeed.web.pages.feeds import _home_page

    home: list[float] = []
    wake: list[float] = []
    with engine.connect() as conn:
        for _ in range(10):
            if busy is not None and not busy.is_alive():
                break
            start = time.perf_counter()
            _home_page(conn, None, None, None, None, 1)
            home.append((time.perf_counter() - start) * 1000)
            for _ in range(20):
                start = time.perf_counter()
                time.sleep(0.001)
                wake.append((time.perf_counter() - start - 0.001) * 1000)
    if not home:
        print(f"{label}: the build ended before a measurement")
        return
    print(f"{label}: home page queries median {statistics.median(home):.1f} ms "
          f"(max {max(home):.1f}, n={len(home)}); GIL wait after a 1 ms sleep: median "
          f"{statistics.median(wake):.2f} ms, p99 {sorted(wake)[int(len(wake) * 0.99)]:.2f} ms")


def main() -> None:
    from paperfeed.index import terms
    from paperfeed.index.term_builder import build_saved_terms
    from paperfeed.index.terms import term_index, use_cache_dir
    from paperfeed.store.database import open_engine

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="database URL with the corpus imported")
    parser.add_argument("--cache-dir", required=True, help="scratch directory (emptied)")
    args = parser.parse_args()
    engine = open_engine(args.db)
    measure(engine, "warm-up run", None)
    measure(engine, "alone", None)

    def in_process() -> None:
        terms.forget()
        use_cache_dir(engine, None)
        with engine.connect() as conn:
            term_index(conn)

    def in_child() -> None:
        shutil.rmtree(args.cache_dir, ignore_errors=True)
        terms.forget()
        use_cache_dir(engine, args.cache_dir)
        if not build_saved_terms(engine):
            print("the child process failed")

    for label, build, head_start in (("during an in-process build", in_process, 0.5),
                                     ("during a child-process build", in_child, 1.5)):
        thread = threading.Thread(target=build)
        thread.start()
        time.sleep(head_start)  # the child first imports paperfeed (~1 s)
        measure(engine, label, thread)
        thread.join()
    engine.dispose()


if __name__ == "__main__":
    main()
