"""The colour theme toggle: light, dark or the system's (prefers-color-scheme).

Everyone's choice is kept in localStorage by static/theme.js; a signed-in user's is also
saved here, so it follows them to other browsers (base.html renders it on <html>).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from paperfeed.store.database import write_transaction
from paperfeed.store.users import THEMES, set_theme

from ..deps import CsrfChecked, CurrentUser, EngineDep
from .forms import json_or_back

router = APIRouter(tags=["pages"])


@router.post("/settings/theme", dependencies=[CsrfChecked])
def save_theme(request: Request, user: CurrentUser, engine: EngineDep,
               theme: Annotated[str, Form(max_length=8)] = "",
               next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Save the theme ("" = the system's, "light", "dark") and go back (or JSON)."""
    if theme not in THEMES:
        raise HTTPException(422, "The theme is light, dark or empty (the system's).")
    with write_transaction(engine) as conn:
        set_theme(conn, user.id, theme)
    return json_or_back(request, {"theme": theme}, next, message="done")
