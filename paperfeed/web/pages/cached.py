"""Serving pages from the version-keyed page cache.

Anonymous visitors (no session cookie) share one rendered copy per URL and data version;
logged-in visitors get a fresh render with their own vote states and forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from paperfeed.store.users import User

from ..deps import get_data_version, get_engine, get_page_cache, load_user
from ..rendering import render, render_text, serve_cached
from ..security import SESSION_COOKIE

# build(conn, user) -> (template, context, status)
Builder = Callable[[Connection, User | None], tuple[str, dict[str, Any], int]]


async def cached_page(request: Request, build: Builder) -> HTMLResponse:
    """The page ``build`` describes, from the cache when the visitor is anonymous."""
    if SESSION_COOKIE not in request.cookies:
        cache = get_page_cache(request)
        clock = get_data_version(request)
        # re-reading it is database work: in a thread, one read for concurrent requests
        version = await clock.shared(run_in_threadpool)
        key = f"page:{request.url.path}?{request.url.query}"
        hit = cache.get(key, version)
        if hit is not None:
            html, status = hit
            return serve_cached(request, html, status_code=status)

        def build_anonymous() -> tuple[str, int]:
            request.state.user = None
            with get_engine(request).connect() as conn:
                template, context, status = build(conn, None)
            page = render_text(request, template, context, anonymous=True), status
            if status == 200:
                cache.put(key, version, page)
            return page

        # concurrent misses of this page share one render (PageCache.build_once)
        html, status = await cache.build_once(
            key, version, lambda: run_in_threadpool(build_anonymous))
        return serve_cached(request, html, status_code=status)

    def build_personal() -> HTMLResponse:
        user = load_user(request)
        with get_engine(request).connect() as conn:
            template, context, status = build(conn, user)
        return render(request, template, context, status_code=status)

    return await run_in_threadpool(build_personal)
