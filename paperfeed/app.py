"""create_app(settings) -> ASGI app: the composition root of the web side.

create_app builds every service once and keeps it on ``app.state``: settings, engine,
templates, page caches and clocks, rate limiter, signed links, the embedder (loaded on
first use, one fallback policy: web/services.py), the mailer and the background outbox
sender (started and stopped by the app's lifespan); the BM25 postings are saved under
``settings.cache_dir``. Routers take them through the typed dependencies in
paperfeed/web/deps.py. To add a router: list it in
``paperfeed.web.pages.page_routers`` (pages) or ``paperfeed.web.api.install_api`` (API).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from paperfeed.config import Settings, load_settings
from paperfeed.index.saved_arrays import use_cache_dir
from paperfeed.mail import mailer_from_settings
from paperfeed.mail.outbox_sender import OutboxSender
from paperfeed.store.database import open_engine
from paperfeed.web import health, metrics
from paperfeed.web.api import install_api
from paperfeed.web.client_address import ClientAddress
from paperfeed.web.errors import install_page_error_handlers
from paperfeed.web.heap_trim import start_trimming
from paperfeed.web.input_guards import RefuseNulBytes
from paperfeed.web.log_redaction import install_log_redaction
from paperfeed.web.login_throttle import LoginThrottle
from paperfeed.web.long_lived import freeze_after
from paperfeed.web.pagecache import AfterWrites, ChangeClock, DataVersionClock, PageCache
from paperfeed.web.pages import page_routers
from paperfeed.web.private_site import RequireLogin
from paperfeed.web.ratelimit import RateLimiter
from paperfeed.web.rendering import build_environment
from paperfeed.web.request_limits import BodySizeLimit
from paperfeed.web.security import SecurityHeaders, SignedLinks
from paperfeed.web.services import SiteEmbedder

STATIC = Path(__file__).parent / "web" / "static"
PAGE_CACHE_BYTES = 8 << 20  # per web worker (docs/benchmarks.md, "Memory per web worker")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the server runs, the outbox sender delivers queued mail in its own thread."""
    sender: OutboxSender = app.state.outbox_sender
    sender.start()
    try:
        yield
    finally:
        await asyncio.to_thread(sender.stop)


def create_app(settings: Settings) -> FastAPI:
    """The whole site for ``settings``: pages, JSON API and feeds.

    Account and subscription emails are queued in the outbox by the requests that cause
    them and delivered by the app's background sender with the app's mailer
    (``settings.smtp_url``), never inside a request.
    """
    install_log_redaction()  # tokens in email-link paths never reach the logs
    engine = open_engine(settings.database_url)
    use_cache_dir(engine, settings.cache_dir)  # search index sets shared by processes
    app = FastAPI(title=settings.site_name, docs_url=None, redoc_url=None, lifespan=lifespan)
    state = app.state
    state.settings = settings
    state.engine = engine
    state.templates = build_environment()
    # rendered pages of anonymous visitors, by URL: at most PAGE_CACHE_BYTES of HTML
    state.cache = PageCache(ttl=settings.cache_seconds, max_bytes=PAGE_CACHE_BYTES,
                            weigh=lambda page: sys.getsizeof(page[0]))
    state.data_version = DataVersionClock(engine)
    state.change_clock = ChangeClock()  # Last-Modified of API answers
    state.similar_cache = PageCache(ttl=600, max_entries=4096)  # neighbours per paper
    state.limiter = RateLimiter(enabled=settings.rate_limits, engine=engine)
    state.login_throttle = LoginThrottle(engine, settings.secret_key, limiter=state.limiter)
    state.links = SignedLinks(settings.secret_key)
    state.embedder = SiteEmbedder(settings)
    state.mailer = mailer_from_settings(settings)
    state.outbox_sender = OutboxSender(engine, settings, state.mailer)
    state.warm_up = None  # the search warm-up thread, when the server starts one
    state.metrics_collector = metrics.DatabaseCollector(engine)  # /metrics' database gauges

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(health.router)
    app.include_router(metrics.router)
    for router in page_routers():
        app.include_router(router)
    install_page_error_handlers(app)
    install_api(app, settings)  # JSON API, Atom feeds, /docs
    # after a write: pages see it at once, the mail it queued is sent (never in the request)
    app.add_middleware(AfterWrites, actions=(state.data_version.expire,
                                             state.outbox_sender.wake))
    if settings.read_requires_login:  # a private instance: web/private_site.py
        app.add_middleware(RequireLogin, engine=engine)
    app.add_middleware(SecurityHeaders, hsts=settings.base_url.startswith("https://"))
    app.add_middleware(RefuseNulBytes)  # inside BodySizeLimit: it reads bounded bodies
    # outermost last: the client address is known before anything (even a 413) happens
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ClientAddress, trusted_proxies=settings.trusted_proxies)
    app.add_middleware(metrics.RequestMetrics)  # outermost: counts every answer, 413s too
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and `paperfeed serve`: settings from env/TOML.
    Each server process also starts building its in-memory search copies at once,
    gives the memory its requests freed back to the system every 30 s (web/heap_trim.py)
    and, once warm, freezes its start-up objects out of the GC's passes
    (web/long_lived.py)."""
    from paperfeed.rank.search import warm_up

    app = create_app(load_settings())
    app.state.warm_up = warm_up(app.state.engine, app.state.settings)  # /readyz waits for it
    app.state.heap_trimmer = start_trimming()  # freed memory back to the system
    # the start-up's objects out of every full GC pass (web/long_lived.py)
    app.state.gc_freezer = freeze_after(app.state.warm_up)
    return app
