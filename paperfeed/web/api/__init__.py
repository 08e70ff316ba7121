"""The JSON API: Hugging Face-compatible papers endpoints plus paperfeed's own.

One router per resource (daily_papers, papers, search, similar, trending, votes,
submissions, collections, comments, me). :func:`install_api` adds them, the JSON error
handlers, read CORS, the Atom feeds and the local Swagger UI to the app built by
``create_app``, which owns the services they take through web/deps.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

API_DESCRIPTION = (
    "The papers API of huggingface.co (`/api/daily_papers`, `/api/papers/search`, "
    "`/api/papers/{id}`, `/papers/{id}.md`: `huggingface_hub.HfApi(endpoint=...)` works "
    "unchanged) plus paperfeed's own endpoints and Atom feeds. Errors are "
    "`{\"error\": message}` with a 4xx; writes need `Authorization: Bearer pf_...` "
    "(a personal token from account settings). Paging: `p` and `limit`, with "
    "`X-Total-Count` and `Link` headers. Reads send ETag / Last-Modified (304 on a match)."
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from paperfeed.config import Settings


def install_api(app: FastAPI, settings: Settings) -> None:
    """Register the API on ``app``. Its routes go before any page route that was already
    registered, so that e.g. ``/papers/{id}.md`` wins over a page at ``/papers/{id}``."""
    # Imported here so that `paperfeed papers ...` does not load the web stack.
    from fastapi import Depends

    from paperfeed.web.feeds import routes as feed_routes

    from . import (
        collections,
        comments,
        daily_papers,
        me,
        papers,
        search,
        similar,
        submissions,
        trending,
        votes,
    )
    from .cors import ReadOnlyCors
    from .docs_page import install_docs
    from .errors import install_error_handlers, refuse_nul_bytes

    # Order no longer decides between /api/papers/search and a paper: a paper route's
    # {arxiv_id:arxiv} matches arXiv ids only (web/arxiv_paths.py).
    routers = [
        daily_papers.router,
        search.router,
        similar.router,
        trending.router,
        votes.router,
        submissions.router,
        collections.router,
        comments.router,
        me.router,
        feed_routes.router,
        papers.router,
    ]
    if not app.description:
        app.description = API_DESCRIPTION
    before = list(app.router.routes)
    for router in routers:
        app.include_router(router, dependencies=[Depends(refuse_nul_bytes)])
    added = [r for r in app.router.routes if r not in before]
    app.router.routes[:] = added + before
    install_error_handlers(app)
    install_docs(app, settings.site_name)
    app.add_middleware(ReadOnlyCors)
