"""GET /metrics: request counts and latency by route template (never the raw path),
search latency, the database gauges (papers by source, embedding backlog, outbox and
digest ledger states, worker jobs), an answer without a database, and `paperfeed serve
--workers 2` adding up both processes' samples in the directory it makes and removes."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, insert, select

from paperfeed.mail.outbox import MAX_ATTEMPTS
from paperfeed.models import Paper
from paperfeed.store.database import write_transaction
from paperfeed.store.jobs import record_run
from paperfeed.store.mail_schema import digest_sends, mail_outbox
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import Preferences, upsert_subscription
from paperfeed.web.metrics import DatabaseCollector, scrape

from .factories import paper_ids

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition text by (name, labels)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template(client, site):
    first, second = paper_ids(site.engine)[:2]
    before = samples(client.get("/metrics").text)
    for path in (f"/papers/{first}", f"/papers/{second}", "/healthz", "/no/such/page"):
        client.get(path)
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert first not in answer.text and "/no/such/page" not in answer.text
    after = samples(answer.text)
    papers_route = {"method": "GET", "route": "/papers/{arxiv_id:arxiv}", "status": "200"}
    counted = "paperfeed_http_requests_total"
    assert value(after, counted, **papers_route) - value(before, counted, **papers_route) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, counted, **unmatched) - value(before, counted, **unmatched) == 1
    timed = "paperfeed_http_request_duration_seconds_count"
    health = {"method": "GET", "route": "/healthz"}
    assert value(after, timed, **health) - value(before, timed, **health) == 1
    # the scrape before this one was counted too (a scrape counts once it has answered)
    metrics_route = {"method": "GET", "route": "/metrics", "status": "200"}
    assert value(after, counted, **metrics_route) - value(before, counted, **metrics_route) == 1


def test_search_latency_is_observed_per_surface(client):
    name = "paperfeed_search_duration_seconds_count"
    before = samples(client.get("/metrics").text)
    assert client.get("/api/papers/search", params={"q": "diffusion", "mode": "keyword"}) \
        .status_code == 200
    assert client.get("/search", params={"q": "diffusion", "mode": "keyword"}).status_code == 200
    after = samples(client.get("/metrics").text)
    assert value(after, name, surface="api") - value(before, name, surface="api") == 1
    assert value(after, name, surface="page") - value(before, name, surface="page") == 1


def test_database_gauges(site, client):
    engine = site.engine
    # The app's background sender would deliver the pending rows below while the test
    # reads the gauges (its first pass may start after the insert): counts must hold still.
    site.app.state.outbox_sender.stop()
    assert not site.app.state.outbox_sender.running
    with write_transaction(engine) as conn:
        upsert_papers(conn, [Paper(arxiv_id="2503.99999", title="From HF", abstract="x",
                                   source="hf")])
        now = dt.datetime.now(dt.UTC)
        row = {"recipient": "a@example.org", "name": "verify", "context": {},
               "created_at": now, "sent_at": None, "attempts": 0, "error": None}
        conn.execute(insert(mail_outbox), [
            {**row, "message_id": "<1@x>", "sent_at": now, "attempts": 1},
            {**row, "message_id": "<2@x>"},
            {**row, "message_id": "<3@x>", "attempts": 2, "error": "421 try later"},
            {**row, "message_id": "<4@x>", "attempts": MAX_ATTEMPTS,
             "error": "550 no such user"},
        ])
        sub, _ = upsert_subscription(conn, "b@example.org", Preferences(), confirmed=True)
        conn.execute(insert(digest_sends).values(
            subscription_id=sub.id, period="daily:2025-03-20", email="b@example.org",
            status="sent", message_id="<5@x>", owner="test", claimed_at=now))
        record_run(conn, "ingest arxiv", started_at=now - dt.timedelta(seconds=3),
                   finished_at=now)
        record_run(conn, "ingest hf", started_at=now, finished_at=now, error="HF down")
        by_source = dict(conn.execute(
            select(papers.c.source, func.count()).group_by(papers.c.source)).tuples().all())
    found = samples(client.get("/metrics").text)
    assert value(found, "paperfeed_database_up") == 1
    assert by_source["hf"] == 1 and len(by_source) >= 2
    for source, count in by_source.items():
        assert value(found, "paperfeed_papers", source=source) == count
    # no paper of the corpus has a vector yet
    assert value(found, "paperfeed_embedding_backlog") == sum(by_source.values())
    for state in ("sent", "pending", "retrying", "failed"):
        assert value(found, "paperfeed_mail_outbox", state=state) == 1, state
    assert value(found, "paperfeed_digest_sends", status="sent") == 1
    success = value(found, "paperfeed_job_last_success_timestamp_seconds", job="ingest arxiv")
    assert abs(success - now.timestamp()) < 1
    assert value(found, "paperfeed_job_last_duration_seconds", job="ingest arxiv") == 3
    assert value(found, "paperfeed_job_last_error_timestamp_seconds", job="ingest hf") > 0
    assert ("paperfeed_job_last_success_timestamp_seconds",
            frozenset({("job", "ingest hf")})) not in found


def test_a_scrape_answers_when_the_database_cannot(tmp_path):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    found = samples(scrape(unreachable, DatabaseCollector(unreachable))[0].decode())
    assert value(found, "paperfeed_database_up") == 0
    assert not any(name == "paperfeed_papers" for name, _ in found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_pids(directory: Path) -> set[str]:
    """The processes that wrote request counters to the multi-process directory."""
    return {path.stem.rpartition("_")[2] for path in directory.glob("counter_*.db")}


def start_serve(settings, tmp_path: Path, workers: int) -> tuple[subprocess.Popen[str], str]:
    """`paperfeed serve --workers N` on a free port, its temporary files under
    tmp_path/tmp, once /readyz says it is ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PAPERFEED_EMBEDDING_BACKEND":
           "hashing", "PAPERFEED_CACHE_DIR": settings.cache_dir,
           "PAPERFEED_SECRET_KEY": settings.secret_key,
           "PAPERFEED_CONFIG": str(tmp_path / "none.toml"), "PAPERFEED_RATE_LIMITS": "false",
           "PAPERFEED_LOG_FORMAT": "json"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "serve", "--db", settings.database_url,
         "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise AssertionError(server.communicate()[0])
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError("the server did not get ready: " + server.communicate()[0])
        time.sleep(0.3)


def test_serve_with_one_worker_counts_and_removes_its_directory(settings, tmp_path):
    server, base = start_serve(settings, tmp_path, workers=1)
    try:
        assert len(list((tmp_path / "tmp").glob("paperfeed-metrics-*"))) == 1
        for _ in range(3):
            httpx.get(f"{base}/healthz", timeout=10)
        found = samples(httpx.get(f"{base}/metrics", timeout=10).text)
        health = {"method": "GET", "route": "/healthz", "status": "200"}
        assert value(found, "paperfeed_http_requests_total", **health) == 3
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0, output
    assert list((tmp_path / "tmp").glob("paperfeed-metrics-*")) == []


def test_serve_with_two_workers_adds_up_both_processes(settings, tmp_path):
    server, base = start_serve(settings, tmp_path, workers=2)
    port = int(base.rpartition(":")[2])
    scratch = tmp_path / "tmp"
    try:
        made = list(scratch.glob("paperfeed-metrics-*"))
        assert len(made) == 1  # serve made its own multi-process directory
        lock = threading.Lock()
        health_requests = 0

        def hit_health() -> None:
            nonlocal health_requests
            # a new connection per request, so the kernel hands them to both workers
            with httpx.Client(timeout=10) as fresh:
                assert fresh.get(f"{base}/healthz").status_code == 200
            with lock:
                health_requests += 1

        while len(sample_pids(made[0])) < 2 and health_requests < 600:
            threads = [threading.Thread(target=hit_health) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert len(sample_pids(made[0])) == 2, "one worker answered every request"
        found = samples(httpx.get(f"{base}/metrics", timeout=10).text)
        health = {"method": "GET", "route": "/healthz", "status": "200"}
        assert value(found, "paperfeed_http_requests_total", **health) == health_requests
        timed = {"method": "GET", "route": "/healthz"}
        assert value(found, "paperfeed_http_request_duration_seconds_count",
                     **timed) == health_requests
        assert value(found, "paperfeed_database_up") == 1
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn logs a warning about it
            raw.recv(1024)
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0, output
    # with log_format=json every log line of both workers is JSON; only serve's own
    # start-up lines (printed before logging is set up) are plain
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[0].startswith("paperfeed on http://127.0.0.1:")
    records = [json.loads(line) for line in lines[1:]]
    assert any(r["logger"] == "uvicorn.error" and r["level"] == "warning" for r in records)
    assert list(scratch.glob("paperfeed-metrics-*")) == []  # and removed it at exit
