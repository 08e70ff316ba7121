"""create_app(settings) -> ASGI app: the composition root of the web side.

Everything the routers need lives on ``app.state`` (settings, engine, templates, page
cache, rate limiter, the email seam); routers reach it through the typed dependencies in
paperfeed/web/dependencies.py. To add a router: ``app.include_router(...)`` below.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from paperfeed.config import Settings, load_settings
from paperfeed.store.database import open_engine
from paperfeed.web.client_address import ClientAddress
from paperfeed.web.errors import install_page_error_handlers
from paperfeed.web.input_guards import RefuseNulBytes
from paperfeed.web.outbox import SendMail, default_send_mail
from paperfeed.web.pagecache import DataVersionClock, ExpireVersionOnWrite, PageCache
from paperfeed.web.pages import page_routers
from paperfeed.web.ratelimit import RateLimiter
from paperfeed.web.rendering import build_environment
from paperfeed.web.request_limits import BodySizeLimit
from paperfeed.web.security import SecurityHeaders, SignedLinks

STATIC = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings, *, send_mail: SendMail | None = None) -> FastAPI:
    """The whole site for ``settings``: pages, JSON API and feeds.

    ``send_mail`` receives account emails (verification, password reset); by default they
    go to paperfeed.mail or, without it, to the log.
    """
    from paperfeed.index.terms import use_cache_dir

    engine = open_engine(settings.database_url)
    use_cache_dir(settings.cache_dir)  # search starts from saved BM25 postings
    app = FastAPI(title=settings.site_name, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.templates = build_environment()
    app.state.cache = PageCache(ttl=settings.cache_seconds)
    app.state.data_version = DataVersionClock(engine)
    app.state.similar_cache = PageCache(ttl=600, max_entries=4096)  # neighbours per paper
    app.state.limiter = RateLimiter(enabled=settings.rate_limits, engine=engine)
    app.state.links = SignedLinks(settings.secret_key)
    app.state.send_mail = send_mail or default_send_mail(settings)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in page_routers():
        app.include_router(router)
    from paperfeed.web import for_you, subscriptions  # digests and "For you" (issue 6)

    app.include_router(subscriptions.router)
    app.include_router(for_you.router)
    install_page_error_handlers(app)

    from paperfeed.web.api import install_api

    install_api(app, settings, engine)  # JSON API, Atom feeds, /docs (issue 5)
    app.add_middleware(ExpireVersionOnWrite, clock=app.state.data_version)
    app.add_middleware(SecurityHeaders, hsts=settings.base_url.startswith("https://"))
    app.add_middleware(RefuseNulBytes)  # inside BodySizeLimit: it reads bounded bodies
    # outermost last: the client address is known before anything (even a 413) happens
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ClientAddress, trusted_proxies=settings.trusted_proxies)
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and `paperfeed serve`: settings from env/TOML.
    Each server process also starts building its in-memory search copies at once."""
    from paperfeed.rank.search import warm_up

    app = create_app(load_settings())
    warm_up(app.state.engine, app.state.settings)
    return app
