"""Typed access to the services create_app keeps on ``app.state`` (paperfeed/app.py).

The one place that reads ``request.app.state``: web/deps.py wraps these getters as FastAPI
dependencies, and the modules deps.py itself imports (security, request limits, health)
use them directly. Nothing here builds a service; create_app does.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import Engine

from paperfeed.config import Settings

if TYPE_CHECKING:
    from jinja2 import Environment

    from paperfeed.mail import Mailer
    from paperfeed.mail.outbox_sender import OutboxSender

    from .login_throttle import LoginThrottle
    from .metrics import DatabaseCollector
    from .pagecache import ChangeClock, DataVersionClock, PageCache
    from .ratelimit import RateLimiter
    from .security import SignedLinks
    from .services import SiteEmbedder


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_templates(request: Request) -> Environment:
    return request.app.state.templates


def get_page_cache(request: Request) -> PageCache:
    """Rendered anonymous pages, keyed by URL and the data version."""
    return request.app.state.cache


def get_similar_cache(request: Request) -> PageCache:
    """Similar papers per paper (the paper page's neighbours)."""
    return request.app.state.similar_cache


def get_data_version(request: Request) -> DataVersionClock:
    return request.app.state.data_version


def get_change_clock(request: Request) -> ChangeClock:
    return request.app.state.change_clock


def get_limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter


def get_links(request: Request) -> SignedLinks:
    return request.app.state.links


def get_embedder(request: Request) -> SiteEmbedder:
    """The app's embedder: ``.get()`` loads it on first use (None when the model cannot
    load; features degrade), so routes that may not need it do not pay for it."""
    return request.app.state.embedder


def get_mailer(request: Request) -> Mailer:
    return request.app.state.mailer


def get_outbox_sender(request: Request) -> OutboxSender:
    """The background thread that delivers the outbox (mail/outbox_sender.py)."""
    return request.app.state.outbox_sender


def get_metrics_collector(request: Request) -> DatabaseCollector:
    """/metrics' database gauges (web/metrics.py)."""
    return request.app.state.metrics_collector


def get_login_throttle(request: Request) -> LoginThrottle:
    """The per-account log-in delay (web/login_throttle.py)."""
    return request.app.state.login_throttle


def get_warm_up(request: Request) -> threading.Thread | None:
    """The search warm-up thread of a server process (None in tests and scripts)."""
    return request.app.state.warm_up
