"""Citations for reference managers: BibTeX, RIS and CSL-JSON of a paper, a collection or
a page of search results (paperfeed/citations.py does the formatting).

``/papers/{id}.bib|.ris|.json``, ``/collections/{id}.bib|...`` and
``/search.bib?q=...``; ``/papers/{id}`` also answers with a citation when the client asks
for one in ``Accept`` (``application/x-bibtex``, ``application/x-research-info-systems``,
``application/vnd.citationstyles.csl+json``), as doi.org does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from paperfeed.citations import bibtex_document, csl_json, ris_document
from paperfeed.identifiers import parse_arxiv_id
from paperfeed.models import Paper
from paperfeed.store.collection_notes import item_notes
from paperfeed.store.collections import collection_paper_ids, get_collection
from paperfeed.store.papers import load_papers

from ..arxiv_paths import ArxivIdPath
from ..deps import EmbedderDep, EngineDep, OptionalUser, RowId
from ..request_limits import enforce_limit
from .papers import paper_row

router = APIRouter(tags=["citations"])

FORMATS = {
    "bib": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "json": "application/vnd.citationstyles.csl+json; charset=utf-8",
}
ACCEPTED = {media.split(";")[0]: fmt for fmt, media in FORMATS.items()}
ACCEPTED["text/x-bibtex"] = "bib"
MAX_SEARCH_EXPORT = 100


def citation_format(request: Request) -> str | None:
    """The citation format ``Accept`` asks for first, if any."""
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in ACCEPTED:
            return ACCEPTED[media]
    return None


def citation_response(papers: Sequence[Paper], fmt: str, filename: str,
                      notes: dict[str, str] | None = None) -> Response:
    """``papers`` as one document in ``fmt`` (bib / ris / json), with ``notes`` by arXiv
    id (a collection's item notes)."""
    if fmt == "bib":
        body = bibtex_document(papers, notes)
    elif fmt == "ris":
        body = ris_document(papers, notes)
    else:
        body = csl_json(list(papers), notes)
    return Response(
        body, media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'inline; filename="{filename}.{fmt}"',
                 "Vary": "Accept", "X-Content-Type-Options": "nosniff"},
    )


def _ordered(conn: Connection, arxiv_ids: Sequence[str]) -> list[Paper]:
    found = load_papers(conn, list(arxiv_ids))
    return [found[a] for a in arxiv_ids if a in found]


def paper_citation(arxiv_id: ArxivIdPath, fmt: str, engine: EngineDep,
                   user: OptionalUser) -> Response:
    parsed = parse_arxiv_id(arxiv_id)
    if parsed is None:
        raise HTTPException(404, "Citations are .bib, .ris or .json of an arXiv id.")
    with engine.connect() as conn:
        row = paper_row(conn, parsed[0], include_hidden=bool(user and user.is_admin))
        papers = _ordered(conn, [parsed[0]]) if row is not None else []
    if not papers:
        raise HTTPException(404, "No such paper.")
    return citation_response(papers, fmt, parsed[0].replace("/", "_"))


def collection_citations(collection_id: RowId, fmt: str, engine: EngineDep,
                         user: OptionalUser) -> Response:
    with engine.connect() as conn:
        found = get_collection(conn, collection_id, viewer_id=user.id if user else None)
        if found is None:
            raise HTTPException(404, "No such collection, or it is private.")
        ids = collection_paper_ids(conn, collection_id)
        from paperfeed.rank.cards import load_cards

        cards = load_cards(conn, ids)
        papers = _ordered(conn, [cards[i].arxiv_id for i in ids if i in cards])
        notes = {cards[i].arxiv_id: note for i, note in item_notes(conn, collection_id).items()
                 if i in cards}
    return citation_response(papers, fmt, f"collection-{collection_id}", notes)


def search_citations(request: Request, fmt: str, engine: EngineDep,
                     embedder: EmbedderDep) -> Response:
    """The first ``MAX_SEARCH_EXPORT`` results of a search, with the search page's
    parameters (q, mode, category, author, from, to)."""
    import datetime as dt

    from paperfeed.rank.search import search_papers

    from .search import MODES

    q = request.query_params
    query = (q.get("q") or "").strip()[:500]
    mode = q.get("mode") or "hybrid"
    if not query or mode not in MODES:
        raise HTTPException(400, "Give a query (q) and a mode of hybrid, keyword or semantic.")
    try:
        date_from = dt.date.fromisoformat(q["from"]) if q.get("from") else None
        date_to = dt.date.fromisoformat(q["to"]) if q.get("to") else None
    except ValueError as exc:
        raise HTTPException(400, "Dates look like 2025-03-04.") from exc
    enforce_limit(request, "search")
    model = embedder.get() if mode != "keyword" else None
    with engine.connect() as conn:
        try:
            results = search_papers(
                conn, query, embedder=model, limit=MAX_SEARCH_EXPORT, mode=mode,
                category=(q.get("category") or "").strip() or None, date_from=date_from,
                date_to=date_to, author=(q.get("author") or "").strip()[:200] or None,
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        papers = _ordered(conn, [h.arxiv_id for h in results.hits])
    return citation_response(papers, fmt, "search")


def _route(handler: Callable[..., Response], fmt: str) -> Callable[..., Response]:
    """``handler`` with ``fmt`` fixed: one route per literal suffix, so ``/papers/2503.11731``
    itself never matches ``/papers/{id}.{fmt}``."""

    @functools.wraps(handler)
    def route(*args: Any, **kwargs: Any) -> Response:
        return handler(*args, fmt=fmt, **kwargs)

    params = [p for p in inspect.signature(handler).parameters.values() if p.name != "fmt"]
    route.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return route


for _fmt in FORMATS:
    router.add_api_route(f"/papers/{{arxiv_id:arxiv}}.{_fmt}", _route(paper_citation, _fmt),
                         methods=["GET"], include_in_schema=False)
    router.add_api_route(f"/collections/{{collection_id}}.{_fmt}",
                         _route(collection_citations, _fmt), methods=["GET"],
                         include_in_schema=False)
    router.add_api_route(f"/search.{_fmt}", _route(search_citations, _fmt), methods=["GET"],
                         include_in_schema=False)
