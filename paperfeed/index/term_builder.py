"""Building a database's saved BM25 postings (index/terms.py) in a child process.

Tokenising the whole corpus is pure Python: ~5 s of CPU at 57,852 papers, holding the
GIL all along. Done by a web server process (its start-up search warm-up), it starves the
event loop and the request threads of that process: every page view, even one served from
the page cache, waits for the GIL each time it gives it up (for the socket, a SQLite step),
(a thread's wake-up waited 5.2 ms for the GIL instead of 0.09 ms, measured at 57,852
papers), and when both workers of a server started on a new database did so, the home
page answered ~1,000 requests/s with a p99 of 0.5-1.6 s (docs/benchmarks.md, "Web
pages", issue 15). A child process builds and saves the set instead
(term_index with ``save``, under the same build lock, so N workers still build once); the
server process then maps it.

The child gets the database URL on its stdin (never on its command line, which any local
user can read) and runs ``python -m paperfeed.index.term_builder``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from sqlalchemy import Engine

from paperfeed.index.saved_arrays import CACHE_DIR_OPTION

log = logging.getLogger(__name__)
BUILD_TIMEOUT = 1800.0  # seconds: a child stuck longer is killed (the caller builds itself)


def build_saved_terms(engine: Engine) -> bool:
    """Build and save ``engine``'s postings under its cache directory in a child process,
    waiting for it (the wait holds no GIL). Returns True when the child succeeded; False
    when there is no cache directory (nothing a child could share) or the child failed
    (logged): the caller's term_index then builds in its own process, as before."""
    cache_dir = engine.get_execution_options().get(CACHE_DIR_OPTION)
    if cache_dir is None:
        return False
    job = json.dumps({"url": engine.url.render_as_string(hide_password=False),
                      "cache_dir": str(cache_dir)})
    try:
        done = subprocess.run([sys.executable, "-m", "paperfeed.index.term_builder"],
                              input=job, text=True, capture_output=True,
                              timeout=BUILD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        log.warning("building the BM25 postings in a child process failed", exc_info=True)
        return False
    if done.returncode != 0:
        log.warning("building the BM25 postings in a child process failed (exit %s): %s",
                    done.returncode, done.stderr.strip()[-2000:])
        return False
    return True


def main() -> None:
    """The child: read {"url", "cache_dir"} from stdin, build or refresh the saved set."""
    from paperfeed.index.terms import term_index, use_cache_dir
    from paperfeed.store.database import open_engine

    job = json.loads(sys.stdin.read())
    engine = open_engine(job["url"])
    use_cache_dir(engine, job["cache_dir"])
    try:
        with engine.connect() as conn:
            term_index(conn, save=True)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
