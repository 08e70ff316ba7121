"""Notifications: the list behind the header's bell (/notifications, which marks them read)
and the email preferences (/settings/notifications)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.mail.notifying import mail_item
from paperfeed.store.database import write_transaction
from paperfeed.store.notifications import (
    Preferences,
    get_preferences,
    list_notifications,
    mark_read,
    save_preferences,
)

from ..deps import CsrfChecked, CurrentUser, EngineDep
from ..rendering import render

router = APIRouter(tags=["pages"])
SHOWN = 100


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    """The newest notifications, unread ones marked as new; opening the page reads them."""
    with write_transaction(engine) as conn:
        shown = list_notifications(conn, user.id, limit=SHOWN)
        mark_read(conn, user.id, [n.id for n in shown if n.read_at is None])
    items = [(n, mail_item(n)) for n in shown]
    return render(request, "notifications.html", {"items": items})


@router.post("/notifications/read", dependencies=[CsrfChecked])
def read_all(user: CurrentUser, engine: EngineDep) -> Response:
    """Mark every notification read (also those older than the page shows)."""
    with write_transaction(engine) as conn:
        mark_read(conn, user.id)
    return RedirectResponse("/notifications?m=done", status_code=303)


@router.get("/settings/notifications", response_class=HTMLResponse)
def preferences_page(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    with engine.connect() as conn:
        prefs = get_preferences(conn, user.id)
    return render(request, "notification_settings.html", {"prefs": prefs})


@router.post("/settings/notifications", dependencies=[CsrfChecked])
def save_preferences_form(
    user: CurrentUser, engine: EngineDep,
    email_replies: Annotated[str | None, Form()] = None,
    email_mentions: Annotated[str | None, Form()] = None,
    email_submissions: Annotated[str | None, Form()] = None,
    email_batch: Annotated[str, Form(max_length=16)] = "instant",
) -> Response:
    prefs = Preferences(bool(email_replies), bool(email_mentions), bool(email_submissions),
                        "daily" if email_batch == "daily" else "instant")
    with write_transaction(engine) as conn:
        save_preferences(conn, user.id, prefs)
    return RedirectResponse("/settings/notifications?m=notifications-saved", status_code=303)
