"""Error pages: every failure a person can cause gets a readable page, never a bare 500.
Rendering one may read the session from the database, so it runs in the threadpool."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .deps import LoginRequired
from .rendering import render

log = logging.getLogger("paperfeed.web")

TITLES = {
    400: "That request did not make sense",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    429: "Slow down",
}


def error_page(request: Request, status: int, detail: str) -> Response:
    try:
        return render(
            request, "error.html",
            {"status": status, "title": TITLES.get(status, "Something went wrong"),
             "detail": detail},
            status_code=status,
        )
    except Exception:
        log.exception("error page failed")
        return Response(detail, status_code=status, media_type="text/plain")


def install_page_error_handlers(app: FastAPI) -> None:
    """HTML error pages for people (the JSON API wraps these for its own paths)."""

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address."
        if exc.status_code == 405:
            detail = "This page cannot be used that way."
        response = await run_in_threadpool(error_page, request, exc.status_code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value  # e.g. Retry-After on a 429
        return response

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        names = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return await run_in_threadpool(
            error_page, request, 400, f"Check the value of: {', '.join(names) or 'the request'}."
        )

    async def on_login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else request.headers.get(
            "referer", "/"
        )
        if not isinstance(target, str) or not target.startswith("/"):
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return await run_in_threadpool(
            error_page, request, 500, "Something went wrong on our side. Try again soon.")

    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(LoginRequired, on_login_required)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_error)
