"""Email verification: the link in the ``verify_email`` message, and queueing that message.

A link in an email is not a login. The verification link is signed (``SignedLinks``),
expires after three days, and names the account, the address it verifies and the account's
password fingerprint: it stops working once it was used (the address is verified), when the
account's address changed, and when the password changed. ``GET /verify/{token}`` only
shows a button, so mail scanners and link previews that fetch it change nothing; the
button's ``POST`` verifies the address and sends the visitor to log in: it never creates a
session by itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from paperfeed.store.database import write_transaction
from paperfeed.store.users import User, get_user, password_fingerprint, verify_email_once

from ..account_mail import queue_account_mail
from ..deps import CsrfChecked, EngineDep, get_links, get_settings
from ..rendering import render

router = APIRouter(tags=["accounts"])

EXPIRED = ("This verification link is invalid, was already used or has expired. Log in to "
           "get a new one if your address is not verified yet.")


def queue_verification(conn: Connection, request: Request, user: User) -> None:
    """Queue the ``verify_email`` message for ``user`` in ``conn``'s transaction, with a
    link bound to the user's current address and password."""
    token = get_links(request).verify_token(user.id, user.email,
                                            password_fingerprint(conn, user.id))
    url = f"{get_settings(request).base_url}/verify/{token}"
    queue_account_mail(conn, request, "verify_email", user.email,
                       {"username": user.username, "url": url})


def _claim(conn: Connection, data: dict[str, Any]) -> User | None:
    """The unverified, enabled account the link still fits, else None."""
    user = get_user(conn, int(data["u"]))
    if (user is None or user.disabled or user.email_verified or user.email != data.get("e")
            or password_fingerprint(conn, user.id) != data.get("f")):
        return None
    return user


def _link_data(request: Request, token: str) -> dict[str, Any] | None:
    data = get_links(request).read_verify(token)
    if not data or not isinstance(data.get("u"), int):
        return None
    return data


def _expired(request: Request) -> Response:
    return render(request, "error.html", {"status": 400, "title": "Link expired",
                  "detail": EXPIRED}, status_code=400)


@router.get("/verify/{token}")
def verify_page(request: Request, token: str, engine: EngineDep) -> Response:
    """The landing page of the link: a button that POSTs; nothing changes here."""
    data = _link_data(request, token)
    with engine.connect() as conn:
        user = _claim(conn, data) if data else None
    if user is None:
        return _expired(request)
    return render(request, "verify_email.html", {"token": token, "email": user.email})


@router.post("/verify/{token}", dependencies=[CsrfChecked])
def verify(request: Request, token: str, engine: EngineDep) -> Response:
    """Verify the address once; the visitor then logs in (no session is created here)."""
    data = _link_data(request, token)
    if data is None:
        return _expired(request)
    with write_transaction(engine) as conn:
        user = _claim(conn, data)
        verified = user is not None and verify_email_once(conn, user.id, user.email)
    if not verified:
        return _expired(request)
    return RedirectResponse("/login?m=verified", status_code=303)
