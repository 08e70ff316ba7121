"""JSON responses of the API: serialising pydantic models, conditional (cached) JSON
responses and the paging headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from paperfeed.config import Settings

from ..deps import get_settings
from .caching import conditional_response

_adapters: dict[Any, TypeAdapter[Any]] = {}  # one adapter per response type, built once


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
    base = get_settings(request).base_url + request.url.path
    if (page + 1) * limit < total:
        links.append(f'<{base}?{urlencode({**params, "p": page + 1})}>; rel="next"')
    if page > 0:
        links.append(f'<{base}?{urlencode({**params, "p": page - 1})}>; rel="prev"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers
