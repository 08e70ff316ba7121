"""Typed dependencies shared by the API routers: the database connection, settings,
paper views, and the JSON / paging response helpers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Connection, Engine

from paperfeed.config import Settings

from .caching import conditional_response
from .paper_views import PaperViews


def api_engine(request: Request) -> Engine:
    """The app's engine (set by install_api)."""
    return request.app.state.api_engine  # type: ignore[no-any-return]


def api_settings(request: Request) -> Settings:
    """The app's settings (set by install_api)."""
    return request.app.state.api_settings  # type: ignore[no-any-return]


def read_connection(engine: Annotated[Engine, Depends(api_engine)]) -> Iterator[Connection]:
    """A connection for reads; closed (and its implicit transaction rolled back) after."""
    with engine.connect() as conn:
        yield conn


def paper_views(settings: Annotated[Settings, Depends(api_settings)]) -> PaperViews:
    """API object builders for this site."""
    return PaperViews(settings.base_url)


DbConn = Annotated[Connection, Depends(read_connection)]
DbEngine = Annotated[Engine, Depends(api_engine)]
AppSettings = Annotated[Settings, Depends(api_settings)]
Views = Annotated[PaperViews, Depends(paper_views)]

_adapters: dict[Any, TypeAdapter[Any]] = {}


def dump_json(value: Any, annotation: Any) -> bytes:
    """``value`` serialised as ``annotation`` (a pydantic model or list of them)."""
    adapter = _adapters.get(annotation)
    if adapter is None:
        adapter = _adapters[annotation] = TypeAdapter(annotation)
    return adapter.dump_json(value, by_alias=True)


def cached_json(
    request: Request,
    value: BaseModel | Sequence[BaseModel],
    annotation: Any,
    settings: Settings,
    *,
    private: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON response with ETag / Last-Modified / Cache-Control (304 when unchanged)."""
    response = conditional_response(
        request,
        dump_json(value, annotation),
        media_type="application/json",
        max_age=settings.cache_seconds,
        private=private,
    )
    response.headers.update(headers or {})
    return response


def paging_headers(request: Request, *, total: int, page: int, limit: int) -> dict[str, str]:
    """``X-Total-Count`` and an RFC 8288 ``Link`` header with rel=next/prev (``p`` paging)."""
    headers = {"X-Total-Count": str(total)}
    links = []
    params = dict(request.query_params)
    # The public base URL, not the Host the request came with (proxies rewrite it).
    base = request.app.state.api_settings.base_url + request.url.path
    if (page + 1) * limit < total:
        links.append(f'<{base}?{urlencode({**params, "p": page + 1})}>; rel="next"')
    if page > 0:
        links.append(f'<{base}?{urlencode({**params, "p": page - 1})}>; rel="prev"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers
