"""The account's lifecycle, from settings: change the email address (confirmed at the new
address, the old address told at once), download my data (one JSON file), delete the
account (store.users.delete_user: the same path as ``paperfeed users delete``).

Each asks for the current password. Emails are queued in the outbox in the transaction of
the change (web/account_mail.py, the one account-mail path) and delivered after the commit
by the app's background sender.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from paperfeed.store.account_export import export_account
from paperfeed.store.database import write_transaction
from paperfeed.store.users import (
    AccountError,
    change_email,
    checked_email,
    delete_user,
    get_user_by_email,
)

from ..account_mail import queue_account_mail
from ..deps import (
    CsrfChecked,
    CurrentUser,
    DbConn,
    EngineDep,
    Limiter,
    OptionalUser,
    SettingsDep,
    get_links,
)
from ..ratelimit import user_key
from ..rendering import render
from ..security import clear_session_cookie, csrf_token
from .accounts import Text, _settings_page, check_current_password

router = APIRouter(tags=["accounts"])
TOO_MANY = "Too many attempts; wait a few minutes."


def _link_expired(request: Request, detail: str) -> Response:
    return render(request, "error.html", {"status": 400, "title": "Link expired",
                  "detail": detail}, status_code=400)


@router.post("/settings/email", dependencies=[CsrfChecked])
def request_email_change(request: Request, user: CurrentUser, engine: EngineDep,
                         settings: SettingsDep, limiter: Limiter, email: Text = "",
                         current: Text = "") -> Response:
    """Send a confirmation link to the new address and a notice to the current one. The
    account keeps its address (and logs in with it) until the link is opened. The answer is
    the same whether or not another account has the new address (that one gets no link)."""
    if not (limiter.allow("login", user_key(user.id))
            and limiter.allow("reset", f"email-change:{user.id}")):
        return _settings_page(request, user, engine, status=429, email_error=TOO_MANY)
    try:
        new = checked_email(email)
        if new == user.email:
            raise AccountError("That is already your address.")
        check_current_password(engine, user.email, current)  # argon2 before the write lock
        with write_transaction(engine) as conn:
            if get_user_by_email(conn, new) is None:
                token = get_links(request).email_change_token(user.id, user.email, new)
                queue_account_mail(conn, request, "confirm_new_email", new, {
                    "username": user.username,
                    "url": f"{settings.base_url}/settings/email/confirm/{token}"})
            queue_account_mail(conn, request, "email_change_requested", user.email,
                               {"username": user.username, "new_email": new})
    except AccountError as exc:
        return _settings_page(request, user, engine, status=400, email_error=str(exc))
    return RedirectResponse("/settings?m=email-change-sent", status_code=303)


@router.get("/settings/email/confirm/{token}")
def confirm_email_change_page(request: Request, token: str) -> Response:
    """The emailed link's landing page: a button that confirms (a GET changes nothing, as
    mail scanners follow links)."""
    data = get_links(request).read_email_change(token)
    if not data:
        return _link_expired(request, "This link is invalid or has expired. Ask for a new "
                             "one in your account settings.")
    return render(request, "mail/subscribe_action.html", {
        "action": f"/settings/email/confirm/{token}", "heading": "Use your new email address",
        "text": f"Move your account to {data['n']}? You will log in with it from now on.",
        "button": "Use this address", "hidden": {"csrf_token": csrf_token(request)},
    })


@router.post("/settings/email/confirm/{token}", dependencies=[CsrfChecked])
def confirm_email_change(request: Request, token: str, engine: EngineDep,
                         user: OptionalUser) -> Response:
    data = get_links(request).read_email_change(token)
    if not data:
        return _link_expired(request, "This link is invalid or has expired.")
    try:
        with write_transaction(engine) as conn:
            changed = change_email(conn, int(data["u"]), str(data["o"]), str(data["n"]))
    except AccountError as exc:
        return _link_expired(request, str(exc))
    if not changed:
        return _link_expired(request, "This link was used already, or the address of the "
                             "account changed since it was sent.")
    mine = user is not None and user.id == int(data["u"])
    return RedirectResponse("/settings?m=email-changed" if mine else "/login?m=email-changed",
                            status_code=303)


@router.get("/settings/export")
def download_my_data(user: CurrentUser, conn: DbConn) -> Response:
    """Everything the account holds as one JSON file (store/account_export.py)."""
    body = json.dumps(export_account(conn, user.id), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="paperfeed-{user.username}.json"'})


@router.post("/settings/delete", dependencies=[CsrfChecked])
def delete_account(request: Request, user: CurrentUser, engine: EngineDep, limiter: Limiter,
                   current: Text = "", confirm: Text = "") -> Response:
    """Delete the account for good (what happens to what it made: the settings page and
    docs/deploying.md say). Needs the password and the username typed out."""
    if not limiter.allow("login", user_key(user.id)):
        return _settings_page(request, user, engine, status=429, delete_error=TOO_MANY)
    try:
        if confirm.strip().lower() != user.username:
            raise AccountError("Type your username to confirm.")
        check_current_password(engine, user.email, current)  # argon2 before the write lock
        with write_transaction(engine) as conn:
            delete_user(conn, user.id)
    except AccountError as exc:  # a wrong password, or the site's last active admin
        return _settings_page(request, user, engine, status=400, delete_error=str(exc))
    response = RedirectResponse("/?m=account-deleted", status_code=303)
    clear_session_cookie(response)
    return response
