"""Notes on the papers of a collection, and importing a BibTeX or CSL-JSON file into one.

The import matches references by arXiv id (``eprint``, arXiv URLs and DOIs; see
paperfeed.citations.read_bibtex / read_csl_json), adds the papers this site has, and shows
which references it could not add and why: a file it cannot read is a 400 page, never a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from paperfeed.citations import ImportedReference, read_bibtex, read_csl_json
from paperfeed.store.collection_notes import import_references, set_item_note
from paperfeed.store.collections import CollectionError, get_collection
from paperfeed.store.database import write_transaction

from ..deps import CsrfChecked, CurrentUser, EngineDep, Limiter, RowId
from ..ratelimit import user_key
from ..rendering import render
from .forms import back, paper_id_or_404, too_many

router = APIRouter(tags=["pages"])
MAX_IMPORT_BYTES = 2_000_000


@router.post("/collections/{collection_id}/notes", dependencies=[CsrfChecked])
def save_note(
    request: Request, collection_id: RowId, user: CurrentUser, engine: EngineDep,
    arxiv_id: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Set (or with an empty note, clear) the note on one paper of the user's collection."""
    try:
        with write_transaction(engine) as conn:
            ok = set_item_note(conn, collection_id, user.id, paper_id_or_404(conn, arxiv_id), note)
    except CollectionError as exc:
        raise HTTPException(400, str(exc)) from exc
    if not ok:
        raise HTTPException(403, "That collection is not yours, or the paper is not in it.")
    return back(request, f"/collections/{collection_id}#item-{arxiv_id}", message="done")


def _read_references(name: str, data: bytes) -> tuple[list[ImportedReference], list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "The file is not UTF-8 text (BibTeX or CSL-JSON).") from exc
    if "\x00" in text:
        raise HTTPException(400, "The file is not a text file.")
    looks_json = name.lower().endswith(".json") or text.lstrip()[:1] in ("[", "{")
    try:
        return read_csl_json(text) if looks_json else read_bibtex(text)
    except Exception as exc:  # the parser's own failure on a hostile file is the user's 400
        raise HTTPException(400, "The file could not be read as BibTeX or CSL-JSON.") from exc


@router.post("/collections/{collection_id}/import", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
async def import_file(
    request: Request, collection_id: RowId, user: CurrentUser, engine: EngineDep,
    limiter: Limiter, file: Annotated[UploadFile, File()],
) -> Response:
    """Add the papers of an uploaded .bib or CSL-JSON file; a page reports the outcome."""
    # the limiter's counters are in the database: never touched on the event loop
    if not await run_in_threadpool(limiter.allow, "collection", user_key(user.id)):
        raise too_many("changes")
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"Import files are at most {MAX_IMPORT_BYTES // 1000} kB.")

    def run() -> Response:
        refs, problems = _read_references(file.filename or "", data)
        with write_transaction(engine) as conn:
            found = get_collection(conn, collection_id, viewer_id=user.id)
            report = import_references(conn, collection_id, user.id, refs) if found else None
        if found is None or report is None:
            raise HTTPException(403, "That collection is not yours.")
        return render(request, "collection_import.html", {
            "collection": found, "report": report, "problems": problems, "total": len(refs),
        })

    return await run_in_threadpool(run)
