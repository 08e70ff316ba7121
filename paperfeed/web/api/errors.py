"""JSON errors for the API, feeds and markdown routes: ``{"error": "message"}``.

Hugging Face answers API errors as ``{"error": "..."}``; paperfeed does the same for every
path it serves to programs (``/api/...``, ``/feeds/...``, ``/papers/<id>.md``), including
unknown paths, wrong methods and malformed parameters (FastAPI's default 422 validation
shape is replaced by a 400 with one readable message) and unexpected failures (a 500 that
says nothing about the internals). Pages keep whatever handler the web
app installed: these handlers delegate to it for every other path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

Handler = Callable[[Request, Any], Awaitable[Response] | Response]

PROGRAM_PREFIXES = ("/api/", "/feeds/")
log = logging.getLogger("paperfeed.api")


class ErrorBody(BaseModel):
    """What every API error looks like."""

    error: str


# Documented on every API route instead of FastAPI's 422 schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Client error: `{\"error\": message}`"},
}


class ApiError(StarletteHTTPException):
    """An error with a status and a message, answered as ``{"error": message}``."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(status_code=status_code, detail=message, headers=headers)


def refuse_nul_bytes(request: Request) -> None:
    """Router dependency: a 400 for NUL characters in query or path parameters, which
    PostgreSQL text cannot hold (it would fail the query) and no real value contains."""
    values = [v for _, v in request.query_params.multi_items()]
    values += [str(v) for v in request.path_params.values()]
    if any("\x00" in value for value in values):
        raise ApiError(400, "parameters must not contain NUL characters")


def is_program_path(path: str) -> bool:
    """True for paths answered to programs (JSON errors) rather than to people (pages)."""
    return path.startswith(PROGRAM_PREFIXES) or path in ("/api", "/feeds") or (
        path.startswith("/papers/") and path.endswith(".md")
    )


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    """One line naming each bad parameter and why, e.g. ``limit: must be <= 100``."""
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body", "header")]
        where = ".".join(loc) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Answer program paths with JSON errors; delegate pages to the handlers already set."""
    previous_http: Handler | None = app.exception_handlers.get(StarletteHTTPException)
    previous_validation: Handler | None = app.exception_handlers.get(RequestValidationError)
    previous_error: Handler | None = app.exception_handlers.get(Exception)

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_program_path(request.url.path) or previous_http is None:
            message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            if exc.status_code == 404 and message == "Not Found":
                message = f"no such endpoint or resource: {request.url.path}"
            if exc.status_code == 405:
                message = f"method {request.method} not allowed on {request.url.path}"
            return error_response(exc.status_code, message, exc.headers)
        result = previous_http(request, exc)
        return await result if isinstance(result, Awaitable) else result

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        if is_program_path(request.url.path) or previous_validation is None:
            return error_response(400, describe_validation(exc))
        result = previous_validation(request, exc)
        return await result if isinstance(result, Awaitable) else result

    async def on_server_error(request: Request, exc: Exception) -> Response:
        if is_program_path(request.url.path) or previous_error is None:
            log.error("unhandled error on %s", request.url.path, exc_info=exc)
            return error_response(500, "internal server error")
        result = previous_error(request, exc)
        return await result if isinstance(result, Awaitable) else result

    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_server_error)
