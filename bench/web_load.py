"""Load-test the home page and a paper page with wrk against a real corpus database.

Usage (run it under the team's benchmark lock, with the 57,852-paper corpus imported):

    paperfeed import --db sqlite:////tmp/pf-bench.db ../shared/data/arxiv-cs-2025-2026.jsonl.gz
    flock /tmp/paperfeed-bench.lock python bench/web_load.py --db sqlite:////tmp/pf-bench.db

It starts `uvicorn paperfeed.app:app_from_environment --factory` on 127.0.0.1 (production
settings, anonymous visitors), warms the page cache, runs wrk for a bounded time per URL
and prints a Markdown table with the machine it ran on. It also checks that a vote (a new
user's upvote through store.votes.set_vote, as the vote route casts it) shows on the cached
home page within DataVersionClock's interval.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def run_wrk(url: str, *, threads: int, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        # A 10 s timeout: wrk leaves requests slower than its timeout (2 s by default) out of
        # the latency figures, so a multi-second stall would not show in the p99.
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, flags=re.MULTILINE)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # "Socket errors: connect 0, read 0, write 0, timeout 0" (printed only when one is not 0)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    counts = [int(x) for x in sockets.groups()] if sockets else [0, 0, 0, 0]
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"),
            "errors": float(errors.group(1)) if errors else 0.0,
            "socket_errors": float(sum(counts[:3])), "timeouts": float(counts[3])}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def cast_vote(db_url: str, arxiv_id: str) -> int:
    """A real vote, as the vote route casts it: a new user upvotes ``arxiv_id`` through
    store.votes.set_vote (which records the vote event trending scores and bumps the data
    version in the same transaction). Returns the paper's vote count after the vote."""
    import secrets

    from sqlalchemy import select

    from paperfeed.store.database import open_engine, write_transaction
    from paperfeed.store.schema import papers
    from paperfeed.store.users import create_user
    from paperfeed.store.votes import set_vote

    engine = open_engine(db_url)
    name = f"bench-voter-{secrets.token_hex(4)}"
    with write_transaction(engine) as conn:
        user = create_user(conn, username=name, email=f"{name}@example.com",
                           password=secrets.token_urlsafe(24), verified=True)
        paper_id = conn.execute(
            select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar_one()
        result = set_vote(conn, user.id, paper_id, True)
    engine.dispose()
    return result.upvotes


def shown_votes(page: str, arxiv_id: str) -> int | None:
    """The vote count a page shows on ``arxiv_id``'s card (None: no such card)."""
    found = re.search(rf'<li class="card" id="paper-{re.escape(arxiv_id)}".*?'
                      r'<span class="count">(\d+)</span>', page, re.DOTALL)
    return int(found.group(1)) if found else None


def measure(
    db: str, *, workers: int = 2, seconds: int = 15, connections: int = 32, threads: int = 2,
    paper: str = "",
) -> tuple[list[tuple[str, str, dict[str, float]]], bool]:
    """wrk results for the home page and a paper page, and whether a vote invalidated the
    cached home page."""
    from paperfeed.rank.listings import list_period, today
    from paperfeed.rank.periods import day_period
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import upgrade_database
    from paperfeed.web.pagecache import DataVersionClock

    engine = open_engine(db)
    upgrade_database(engine)
    with engine.connect() as conn:
        day = today(conn)
        assert day is not None, "import the corpus first"
        listing = list_period(conn, day_period(day), limit=50)
        last_on_page = listing.items[-1].arxiv_id
        paper = paper or listing.items[0].arxiv_id
    engine.dispose()

    port = free_port()
    env = {**os.environ, "PAPERFEED_DATABASE_URL": db, "PAPERFEED_ENVIRONMENT": "production",
           "PAPERFEED_SECRET_KEY": "bench-" + "s" * 40, "PAPERFEED_EMBEDDING_BACKEND": "hashing",
           # production refuses to start without SMTP; anonymous page views never send mail
           "PAPERFEED_SMTP_URL": os.environ.get("PAPERFEED_SMTP_URL", "smtp://127.0.0.1:9")}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "paperfeed.app:app_from_environment", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning", "--no-access-log"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_up(base + "/")
        for name, path in (("home (newest day, 50 cards)", "/"),
                           ("paper page", f"/papers/{paper}")):
            for _ in range(20):  # warm every worker's cache
                urllib.request.urlopen(base + path, timeout=10).read()
            result = run_wrk(base + path, threads=threads, connections=connections,
                             seconds=seconds)
            rows.append((name, path, result))
        # A vote must invalidate the cached home page: the paper's card shows the new count
        # within DataVersionClock's interval (other processes' writes are seen that late).
        before = urllib.request.urlopen(base + "/", timeout=10).read().decode()
        shown_before = shown_votes(before, last_on_page)
        count = cast_vote(db, last_on_page)
        voted_at = time.monotonic()
        deadline = voted_at + DataVersionClock(None).poll_seconds + 0.1
        shown_after = None
        while time.monotonic() < deadline and shown_after != count:
            time.sleep(0.05)
            after = urllib.request.urlopen(base + "/", timeout=10).read().decode()
            shown_after = shown_votes(after, last_on_page)
        invalidated = shown_before is not None and shown_before + 1 == count == shown_after
        print(f"vote on {last_on_page}: the home page showed {shown_before}, then "
              f"{shown_after} {time.monotonic() - voted_at:.2f} s after the vote (count {count})")
    finally:
        server.terminate()
        server.wait(timeout=30)

    return rows, invalidated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="database URL with the corpus imported")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paper", default="", help="arXiv id for the paper page")
    args = parser.parse_args()

    rows, invalidated = measure(args.db, workers=args.workers, seconds=args.seconds,
                                connections=args.connections, threads=args.threads,
                                paper=args.paper)
    print(f"\nMachine: {machine()}; uvicorn --workers {args.workers}; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.seconds}s on 127.0.0.1; "
          f"database {args.db.split(':')[0]}\n")
    print("| page | path | requests/s | p50 ms | p99 ms | non-2xx | socket errors | timeouts |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, path, r in rows:
        print(f"| {name} | `{path}` | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
              f"{r['errors']:.0f} | {r['socket_errors']:.0f} | {r['timeouts']:.0f} |")
    print(f"\nA vote invalidates the cached home page: {'yes' if invalidated else 'NO'}")


if __name__ == "__main__":
    main()
