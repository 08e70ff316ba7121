"""Health endpoints for load balancers and orchestrators.

``GET /healthz``: the process is alive and serving (no database call): 200 ``{"status":
"ok"}``. ``GET /readyz``: this worker can serve real traffic: the database answers, its
schema is at the code's migration heads, and the search warm-up (BM25 postings, vectors,
query model: started by ``paperfeed serve``) has finished. 503 with ``{"status":
"unavailable", "reasons": [...]}`` otherwise, so a balancer sends no traffic to a worker
that is still loading or cannot reach the database.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from paperfeed.store.migrate import pending_revisions

from .state import get_engine, get_warm_up

router = APIRouter(tags=["health"])
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", summary="The process is alive")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz", summary="Database reachable, schema current, search index loaded")
def readyz(request: Request) -> JSONResponse:
    reasons: list[str] = []
    engine = get_engine(request)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        pending = pending_revisions(engine)
        if pending:
            reasons.append(f"migrations pending: {', '.join(sorted(pending))} "
                           "(run paperfeed init)")
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database: not ready
        reasons.append(f"database unreachable: {type(exc).__name__}")
    warm_up = get_warm_up(request)
    if warm_up is not None and warm_up.is_alive():
        reasons.append("search index loading")
    if reasons:
        return JSONResponse({"status": "unavailable", "reasons": reasons}, status_code=503,
                            headers=NO_STORE)
    return JSONResponse({"status": "ok"}, headers=NO_STORE)
