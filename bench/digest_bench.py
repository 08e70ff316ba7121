"""Digest benchmark: N subscribers with personalised digests over a day of 1,000 new papers.

    flock /tmp/paperfeed-bench.lock python bench/digest_bench.py [--subscribers 100000]
        [--deliver 100000] [--db sqlite:////tmp/digest-bench.db] [--processes 2]

Setup (not timed): 1,000 real arXiv papers (the shared corpus's two largest listing days,
re-dated to one day), N subscribers with 1-3 free-text interests each (drawn from 3,000
phrases cut from other real titles), 20% following an author, 30% excluding a category,
10% muting a keyword, 10% trending-only; interest vectors stored as the product stores
them. Vectors come from the hashing embedder (384 dims, the same shapes and the same
arithmetic as all-MiniLM-L6-v2; relevance is not what is measured here).

Timed:
1. build + render: every subscriber's digest (profiles from the database, vectorised
   scoring in chunks, Jinja2 + css-inline rendering), in 1 process and in P processes
   splitting the subscribers by id;
2. delivery: ``send_digests`` (ledger claim -> sending -> sent, per message) to an aiosmtpd
   sink in another process on 127.0.0.1; then the sink's log is checked for duplicates.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "arxiv-cs-2025-2026.jsonl.gz"
DAY = "2025-05-27"


def settings_for(db_url: str, **extra: object):  # type: ignore[no-untyped-def]
    from paperfeed.config import load_settings

    return load_settings(environment="test", database_url=db_url, embedding_backend="hashing",
                         secret_key="bench-secret-" + "x" * 32, base_url="https://papers.example",
                         mail_from="paperfeed <digest@papers.example>", **extra)


def load_rows() -> tuple[list[dict], list[str]]:
    """1,000 papers of the two largest listing days, and 3,000 interest phrases."""
    wanted = {"2025-05-27", "2025-06-03"}
    papers, phrases = [], []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["listing_date"] in wanted and len(papers) < 1000:
                row["listing_date"] = DAY
                papers.append(row)
            elif len(phrases) < 3000 and row["listing_date"] < "2025-05-01":
                words = row["title"].replace(":", " ").split()
                phrases.append(" ".join(words[: random.Random(len(phrases)).randint(3, 6)]))
    return papers, phrases


def setup(db_url: str, n_subs: int) -> None:
    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.ingest.bulk import import_file
    from paperfeed.store.database import open_engine, write_transaction
    from paperfeed.store.follow_schema import follows
    from paperfeed.store.mail_schema import interest_vectors, subscriptions
    from paperfeed.store.migrate import upgrade_database
    from paperfeed.store.schema import authors as authors_t
    from paperfeed.store.schema import paper_authors

    engine = open_engine(db_url)
    upgrade_database(engine)
    papers, phrases = load_rows()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as tmp:
        for row in papers:
            tmp.write(json.dumps(row) + "\n")
    import_file(engine, Path(tmp.name))
    os.unlink(tmp.name)
    embedder = HashingEmbedder()
    pool = embedder.embed(phrases)
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(
            select(authors_t.c.name)
            .join(paper_authors, paper_authors.c.author_id == authors_t.c.id)
            .limit(3000)
        )]
    rng = random.Random(7)
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    cats = ["cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.RO"]
    batch = 5000
    for start in range(0, n_subs, batch):
        subs, vecs, followed = [], [], []
        for i in range(start, min(n_subs, start + batch)):
            picks = rng.sample(range(len(phrases)), rng.randint(1, 3))
            # Saved searches (the interests) and, for one in five, a followed author.
            followed += [{"subscription_id": i + 1, "kind": "search", "value": phrases[p],
                          "filters": {}, "created_at": now} for p in picks]
            if rng.random() < 0.2:
                followed.append({"subscription_id": i + 1, "kind": "author",
                                 "value": rng.choice(names), "filters": {}, "created_at": now})
            subs.append({
                "id": i + 1, "email": f"reader{i:06d}@bench.example", "status": "active",
                "frequency": "daily",
                "content": "trending" if rng.random() < 0.1 else "both",
                "exclude_categories": [rng.choice(cats)] if rng.random() < 0.3 else [],
                "muted_keywords": (
                    [rng.choice(["survey", "benchmark", "dataset"])] if rng.random() < 0.1 else []
                ),
                "max_papers": 10, "source": "import", "failures": 0,
                "created_at": now, "updated_at": now, "confirmed_at": now,
            })
            for pos, p in enumerate(picks):
                vecs.append({"subscription_id": i + 1, "position": pos, "text": phrases[p],
                             "model_id": embedder.model_id, "vector": pool[p].tobytes()})
        with write_transaction(engine) as conn:
            conn.execute(insert(subscriptions), subs)
            conn.execute(insert(follows), followed)
            conn.execute(insert(interest_vectors), vecs)
    engine.dispose()


def build_range(args: tuple[str, int, int]) -> tuple[int, int, float, float]:
    """Build and render the digests of subscriptions lo..hi; (digests, empty, build s, render s)."""
    db_url, lo, hi = args
    import datetime as dt

    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.mail.digest import DigestBuilder, period_for
    from paperfeed.store.database import open_engine
    from paperfeed.store.subscriptions import list_subscriptions

    engine = open_engine(db_url)
    settings = settings_for(db_url)
    built = empty = 0
    t_build = t_render = 0.0
    with engine.connect() as conn:
        builder = DigestBuilder(conn, settings, HashingEmbedder(),
                                period_for("daily", dt.date.fromisoformat(DAY)))
        after = lo
        while after < hi:
            subs = [s for s in list_subscriptions(conn, status="active", after_id=after, limit=2000)
                    if s.id <= hi]
            if not subs:
                break
            after = subs[-1].id
            t0 = time.perf_counter()
            digests = builder.build(conn, subs, render=False)
            t1 = time.perf_counter()
            for d in digests:
                if d.picks:
                    builder.render(d.subscription, d.picks)
                    built += 1
                else:
                    empty += 1
            t_render += time.perf_counter() - t1
            t_build += t1 - t0
    engine.dispose()
    return built, empty, t_build, t_render


def time_build(db_url: str, n_subs: int, processes: int) -> tuple[float, int, int, float, float]:
    started = time.perf_counter()
    if processes == 1:
        built, empty, tb, tr = build_range((db_url, 0, n_subs))
    else:
        step = (n_subs + processes - 1) // processes
        ranges = [(db_url, i * step, min(n_subs, (i + 1) * step)) for i in range(processes)]
        with mp.get_context("spawn").Pool(processes) as pool:
            parts = pool.map(build_range, ranges)
        built, empty = sum(p[0] for p in parts), sum(p[1] for p in parts)
        tb, tr = sum(p[2] for p in parts), sum(p[3] for p in parts)
    return time.perf_counter() - started, built, empty, tb, tr


SINK = r'''
import asyncio, signal, sys, time
from aiosmtpd.controller import Controller
log = open(sys.argv[2], "w", buffering=1 << 20)
class H:
    async def handle_DATA(self, server, session, envelope):
        mid = ""
        for line in envelope.content.split(b"\r\n", 60)[:60]:
            if line[:11].lower() == b"message-id:":
                mid = line[11:].strip().decode()
                break
        log.write(f"{envelope.rcpt_tos[0]}\t{mid}\n")
        return "250 OK"
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
c.stop(); log.close()
'''


def time_delivery(db_url: str, limit: int, concurrency: int) -> dict[str, float]:
    import datetime as dt

    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.mail.delivery import send_digests
    from paperfeed.mail.mailer import mailer_from_settings
    from paperfeed.store.database import open_engine, write_transaction
    from paperfeed.store.mail_schema import subscriptions

    engine = open_engine(db_url)
    if limit:
        with write_transaction(engine) as conn:  # deliver to the first `limit` subscribers only
            conn.execute(
                subscriptions.update().where(subscriptions.c.id > limit).values(status="paused")
            )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = Path(tempfile.mkdtemp()) / "sink.log"
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(log)],
                            stdout=subprocess.PIPE)
    assert sink.stdout is not None and sink.stdout.readline().startswith(b"ready")
    settings = settings_for(db_url, smtp_url=f"smtp://127.0.0.1:{port}",
                            smtp_concurrency=concurrency)
    mailer = mailer_from_settings(settings)
    started = time.perf_counter()
    report = send_digests(engine, settings, mailer, HashingEmbedder(),
                          day=dt.date.fromisoformat(DAY), batch_size=1000)
    elapsed = time.perf_counter() - started
    mailer.close()
    sink.terminate()
    sink.wait()
    lines = log.read_text().splitlines()
    rcpts = [ln.split("\t")[0] for ln in lines]
    return {"sent": report.sent, "empty": report.empty, "seconds": elapsed,
            "rate": report.sent / elapsed, "received": len(lines),
            "duplicates": len(rcpts) - len(set(rcpts))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--deliver", type=int, default=100_000, help="subscribers to deliver to")
    parser.add_argument("--db", default="sqlite:////tmp/paperfeed-digest-bench.db")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-setup", action="store_true")
    args = parser.parse_args()
    if not args.skip_setup:
        if args.db.startswith("sqlite:///"):
            for suffix in ("", "-wal", "-shm"):
                Path(args.db.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        t0 = time.perf_counter()
        setup(args.db, args.subscribers)
        print(f"setup: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    rows = []
    for processes in sorted({1, args.processes}):
        wall, built, empty, tb, tr = time_build(args.db, args.subscribers, processes)
        rows.append((f"build + render, {processes} process{'es' if processes > 1 else ''}",
                     f"{wall:.1f} s", (f"{built:,} digests ({empty:,} empty); rank {tb:.1f} s, "
                                      f"render {tr:.1f} s (CPU, summed)")))
        print(rows[-1], file=sys.stderr)
    if args.deliver:
        d = time_delivery(args.db, args.deliver, args.concurrency)
        rows.append((f"delivery to aiosmtpd, {args.concurrency} connections",
                     f"{d['rate']:.0f} msg/s",
                     (f"{d['sent']:,.0f} sent in {d['seconds']:.1f} s (incl. build); sink got "
                      f"{d['received']:,.0f}, duplicates {d['duplicates']:.0f}")))
    cpu = platform.processor() or platform.machine()
    print(f"\nMachine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
          f"{args.db.split(':')[0]}, {args.subscribers:,} subscribers x 1,000 papers\n")
    print("| step | result | notes |\n|---|---|---|")
    for step, result, notes in rows:
        print(f"| {step} | {result} | {notes} |")


if __name__ == "__main__":
    main()
