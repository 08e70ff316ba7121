"""``GET /metrics``: Prometheus text format through prometheus-client.

Per process, counted as requests happen: requests by method, route and status, request
latency by method and route, search latency by surface (page / API). The route label is
the route's template (``/papers/{arxiv_id}``), never the raw path, so ids cannot make new
series; requests no route matched are ``unmatched``.

With several server processes, `paperfeed serve` gives them one
``PROMETHEUS_MULTIPROC_DIR`` (created empty at start, removed at exit): each process
writes its samples there and any process answering ``/metrics`` adds them all up
(prometheus-client's multi-process mode). Without it (one process, tests) the process's
own registry answers.

Read from the database at scrape time (cheap COUNTs, cached ``CACHE_SECONDS`` per
process): papers by source, the embedding backlog (papers without a vector), the mail
outbox and the digest ledger by state, and each worker job's last success and last error
(from `paperfeed worker`'s worker_jobs table). When the database cannot be read,
``paperfeed_database_up`` is 0 and those series are left out, but the scrape succeeds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, select
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.index.schema import paper_vectors
from paperfeed.mail.outbox import MAX_ATTEMPTS
from paperfeed.store.job_schema import worker_jobs
from paperfeed.store.mail_schema import digest_sends, mail_outbox
from paperfeed.store.schema import papers

from .state import get_engine, get_metrics_collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CACHE_SECONDS = 10.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
log = logging.getLogger(__name__)

REQUESTS = Counter("paperfeed_http_requests", "HTTP requests answered, by route template.",
                   ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "paperfeed_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.", ["method", "route"],
    buckets=LATENCY_BUCKETS)
SEARCH_SECONDS = Histogram(
    "paperfeed_search_duration_seconds",
    "Time of one search (keyword + meaning, fused), by surface: page or api.", ["surface"],
    buckets=LATENCY_BUCKETS)

router = APIRouter(tags=["health"])


def route_label(scope: Scope) -> str:
    """The template of the route that answered (``/papers/{arxiv_id}``), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    return f"{path}/{{path}}" if isinstance(route, Mount) else path


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            method = scope.get("method", "GET")
            method = method if method in METHODS else "other"
            route = route_label(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read())
            return list(self._cached[1])

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily("paperfeed_database_up",
                               "1 when the database answered this scrape's queries.")
        try:
            families = list(self._families())
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even without a database
            log.warning("metrics: database not readable: %s", type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            by_source = GaugeMetricFamily("paperfeed_papers", "Papers stored, by first source.",
                                          labels=["source"])
            for source, count in conn.execute(
                    select(papers.c.source, func.count()).group_by(papers.c.source)):
                by_source.add_metric([source], count)
            yield by_source
            backlog = conn.execute(
                select(func.count()).select_from(papers)
                .outerjoin(paper_vectors, paper_vectors.c.paper_id == papers.c.id)
                .where(paper_vectors.c.paper_id.is_(None))).scalar_one()
            yield GaugeMetricFamily("paperfeed_embedding_backlog",
                                    "Papers without a vector yet (`paperfeed index` embeds them).",
                                    value=backlog)
            outbox = GaugeMetricFamily(
                "paperfeed_mail_outbox", "Transactional emails by state: pending (not sent "
                "yet, never failed), retrying (last attempt failed), failed (given up), sent.",
                labels=["state"])
            counts = dict.fromkeys(("pending", "retrying", "failed", "sent"), 0)
            state = _outbox_state()
            for name, count in conn.execute(select(state, func.count()).group_by(state)):
                counts[str(name)] = count
            for name, count in counts.items():
                outbox.add_metric([name], count)
            yield outbox
            ledger = GaugeMetricFamily("paperfeed_digest_sends",
                                       "Digest ledger rows by status (claimed, sending, sent, "
                                       "empty, bounced, deferred, unknown).", labels=["status"])
            for status, count in conn.execute(select(digest_sends.c.status, func.count())
                                              .group_by(digest_sends.c.status)):
                ledger.add_metric([status], count)
            yield ledger
            yield from _job_families(conn.execute(select(worker_jobs)).mappings().all())


def _outbox_state() -> Any:
    return case((mail_outbox.c.sent_at.is_not(None), "sent"),
                (mail_outbox.c.attempts >= MAX_ATTEMPTS, "failed"),
                (mail_outbox.c.error.is_not(None), "retrying"), else_="pending")


def _job_families(rows: Iterable[Any]) -> Iterator[Metric]:
    success = GaugeMetricFamily(
        "paperfeed_job_last_success_timestamp_seconds",
        "Unix time of the last successful run of each worker job.", labels=["job"])
    error = GaugeMetricFamily(
        "paperfeed_job_last_error_timestamp_seconds",
        "Unix time of the last failed run of each worker job.", labels=["job"])
    duration = GaugeMetricFamily(
        "paperfeed_job_last_duration_seconds", "How long the last run of each job took.",
        labels=["job"])
    for row in rows:
        if row["last_success_at"] is not None:
            success.add_metric([row["name"]], row["last_success_at"].timestamp())
        if row["last_error_at"] is not None:
            error.add_metric([row["name"]], row["last_error_at"].timestamp())
        if row["last_seconds"] is not None:
            duration.add_metric([row["name"]], row["last_seconds"])
    yield from (success, error, duration)


class _ProcessRegistry(Collector):
    """This process's own metrics (the default registry), for a scrape without the
    multi-process directory."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_mode() -> bool:
    """Whether this process's metrics live in PROMETHEUS_MULTIPROC_DIR (prometheus-client
    decides once, when it is first imported)."""
    return values.ValueClass is not values.MutexValue and bool(os.environ.get(MULTIPROC_ENV))


def scrape(engine: Engine, collector: DatabaseCollector | None = None,
           accept: str = "") -> tuple[bytes, str]:
    """(exposition, content type): the request metrics of every server process (or of this
    one) plus the database gauges, in the format the ``Accept`` header asks for (the
    classic text format 0.0.4 unless the scraper asks for another)."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(collector or DatabaseCollector(engine))
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    body, content_type = scrape(get_engine(request), get_metrics_collector(request),
                                request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
