"""Accounts: sign up, log in / out, reset password, account settings, personal API
tokens (verifying an address: pages/verify.py).

Sign-up, log-in and password reset answer the same whether or not the email is known
(each form is judged whole before its address is looked up) and spend the same work (one
argon2 hash) either way. Emails are queued in the outbox inside the transaction that causes
them (web/account_mail.py) and sent by the app's background sender, never in the request.
Passwords are hashed and checked outside write transactions (store/passwords.py); a write
transaction opens only for the rows that change. Log-in limits: web/login_throttle.py;
sign-up policy: web/signup_policy.py; verifying an address: pages/verify.py.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.store.database import write_transaction
from paperfeed.store.feed_keys import feed_key, rotate_feed_key
from paperfeed.store.invites import invite_is_usable, use_invite
from paperfeed.store.passwords import hash_password
from paperfeed.store.sessions import create_session, end_session, end_user_sessions
from paperfeed.store.tokens import create_token, list_tokens, revoke_all_tokens, revoke_token
from paperfeed.store.users import (
    AccountError,
    check_credentials,
    check_new_password,
    check_sign_up,
    create_user,
    get_user,
    get_user_by_email,
    get_user_by_username,
    load_credentials,
    mark_email_verified,
    password_fingerprint,
    rehash_if_needed,
    store_password_hash,
    update_profile,
)

from ..account_mail import queue_account_mail
from ..deps import (
    CsrfChecked,
    CurrentUser,
    EngineDep,
    Limiter,
    OptionalUser,
    RowId,
    client_address,
    get_links,
    get_login_throttle,
    get_settings,
)
from ..feeds.personal import personal_feed_path
from ..ratelimit import address_key, user_key
from ..rendering import render
from ..security import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from ..signup_policy import check_signup_domain, signup_refusal
from .forms import safe_next
from .verify import queue_verification

router = APIRouter(tags=["accounts"])
Text = Annotated[str, Form(max_length=2000)]


def _log_in(request: Request, engine: Any, user_id: int, target: str, *,
            new_hash: str | None = None, email: str = "") -> Response:
    """Start a session in one short write transaction, storing a rehashed password and
    forgetting the account's failed log-ins (``email``) on the way."""
    throttle = get_login_throttle(request)
    with write_transaction(engine) as conn:
        if new_hash:
            store_password_hash(conn, user_id, new_hash)
        if email:
            throttle.succeeded(conn, email)
        token = create_session(conn, user_id, user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    if email:
        throttle.remember_device(request, response, email)
    return response


def check_current_password(engine: Any, email: str, password: str) -> None:
    """Raise AccountError unless ``password`` is the account's: read on a read connection,
    checked (argon2) with no transaction open, before the caller's write transaction."""
    with engine.connect() as conn:
        found = load_credentials(conn, email)
    if not check_credentials(found, password):
        raise AccountError("Your current password is not right.")


def _too_many(request: Request, template: str, context: dict[str, Any], error: str,
              retry_after: float) -> Response:
    response = render(request, template, context | {"error": error}, status_code=429)
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


MAIL_BUDGET_SPENT = "Too many emails were asked for this address. Try again in an hour."


# --- sign up and verify ---------------------------------------------------------------

# ``?invite=TOKEN`` (from ``paperfeed users invite``): the account uses up that invite.
Invite = Annotated[str, Query(max_length=100)]
BAD_INVITE = "This invite link is invalid, has expired or was already used."


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, invite: Invite = "") -> Response:
    refusal = signup_refusal(get_settings(request), invite)
    return render(request, "signup.html", {"values": {}, "invite": invite, "closed": refusal})


@router.post("/signup", dependencies=[CsrfChecked])
def signup(
    request: Request, engine: EngineDep, limiter: Limiter,
    username: Text = "", email: Text = "", password: Text = "", invite: Invite = "",
) -> Response:
    values = {"username": username, "email": email}
    settings = get_settings(request)
    refusal = signup_refusal(settings, invite)
    if refusal:
        return render(request, "signup.html", {"values": values, "closed": refusal},
                      status_code=403)
    if not limiter.allow("signup", client_address(request)):
        return render(request, "signup.html", {"values": values, "error":
                      "Too many sign-ups from your address. Try again later."}, status_code=429)
    links = get_links(request)
    try:
        # The whole form is judged before the address is looked up, so that a known
        # address gets exactly the answer an unknown one gets, whatever else is wrong.
        username, address = check_sign_up(username, email, password)
        check_signup_domain(settings, address, invite)
        with engine.connect() as conn:
            if invite and not invite_is_usable(conn, invite):
                raise AccountError(BAD_INVITE)
            if get_user_by_username(conn, username):
                raise AccountError("That username is taken.")
        if not limiter.allow("account-mail", address_key(address)):
            return _too_many(request, "signup.html", {"values": values, "invite": invite},
                             MAIL_BUDGET_SPENT, limiter.limits["account-mail"][1])
        hashed = hash_password(password)  # one hash for either kind of address, no lock held
        with write_transaction(engine) as conn:
            existing = get_user_by_email(conn, address)
            if existing is None:
                user = create_user(conn, username=username, email=address, password=password,
                                   password_hash=hashed)
                if invite and not use_invite(conn, invite, user.id):
                    raise AccountError(BAD_INVITE)  # used meanwhile: roll the account back
                queue_verification(conn, request, user)
            else:
                # The owner gets a reset link instead: the page says nothing either way.
                token = links.reset_token(existing.id, password_fingerprint(conn, existing.id))
                queue_account_mail(conn, request, "password_reset", existing.email,
                                   {"username": existing.username,
                                    "url": f"{settings.base_url}/reset/{token}"})
    except AccountError as exc:
        return render(request, "signup.html", {"values": values, "error": str(exc),
                      "invite": invite}, status_code=400)
    return render(request, "check_email.html", {"email": email.strip()[:320]})


# --- log in / out -----------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: OptionalUser) -> Response:
    target = safe_next(request.query_params.get("next"))
    if user:
        return RedirectResponse(target, status_code=303)
    return render(request, "login.html", {"next": target, "email": ""})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request, engine: EngineDep, limiter: Limiter,
    email: Text = "", password: Text = "", next: Text = "/",
) -> Response:
    target = safe_next(next)
    context = {"next": target, "email": email}
    if not limiter.allow("login", client_address(request)):
        return _too_many(request, "login.html", context, "Too many attempts from your "
                         "address. Wait a few minutes and try again.",
                         limiter.limits["login"][1])
    throttle = get_login_throttle(request)
    wait = throttle.wait_seconds(request, email)
    if wait > 0:
        return _too_many(request, "login.html", context, "Too many failed log-ins for this "
                         f"account. Try again in {math.ceil(wait)} seconds, or reset your "
                         "password.", wait)
    with engine.connect() as conn:
        found = load_credentials(conn, email)
    right = check_credentials(found, password)  # argon2 (a dummy one if unknown), no lock
    if not right or found is None:
        throttle.failed(email)
        return render(request, "login.html", context | {"error":
                      "That email and password do not match an account."}, status_code=400)
    with engine.connect() as conn:
        user = get_user(conn, found.user_id)
    assert user is not None
    if not user.email_verified:
        error = "Please verify your email first: we have sent you a new link."
        if limiter.allow("account-mail", address_key(user.email)):
            with write_transaction(engine) as conn:
                queue_verification(conn, request, user)
        else:
            error = "Please verify your email first: follow the link we sent you."
        return render(request, "login.html", context | {"error": error}, status_code=403)
    return _log_in(request, engine, user.id, target, email=email,
                   new_hash=rehash_if_needed(found, password))


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        end_session(conn, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/?m=logged-out", status_code=303)
    clear_session_cookie(response)
    return response


# --- password reset ---------------------------------------------------------------------

@router.get("/reset", response_class=HTMLResponse)
def reset_request_form(request: Request) -> Response:
    return render(request, "reset_request.html", {})


@router.post("/reset", dependencies=[CsrfChecked])
def reset_request(request: Request, engine: EngineDep, limiter: Limiter,
                  email: Text = "") -> Response:
    if not limiter.allow("reset", client_address(request)):
        return render(request, "reset_request.html", {"error":
                      "Too many requests. Try again later."}, status_code=429)
    if not limiter.allow("account-mail", address_key(email)):
        return _too_many(request, "reset_request.html", {}, MAIL_BUDGET_SPENT,
                         limiter.limits["account-mail"][1])
    with write_transaction(engine) as conn:
        user = get_user_by_email(conn, email)
        if user is not None and not user.disabled:
            token = get_links(request).reset_token(user.id, password_fingerprint(conn, user.id))
            url = f"{get_settings(request).base_url}/reset/{token}"
            queue_account_mail(conn, request, "password_reset", user.email,
                               {"username": user.username, "url": url})
    return render(request, "check_email.html", {"email": email.strip()[:320], "reset": True})


def _reset_user(request: Request, engine: Any, token: str) -> int | None:
    data = get_links(request).read_reset(token)
    if not data:
        return None
    with engine.connect() as conn:
        if password_fingerprint(conn, int(data["u"])) != data.get("f"):
            return None  # the password changed since: the link was used
    return int(data["u"])


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_form(request: Request, token: str, engine: EngineDep) -> Response:
    if _reset_user(request, engine, token) is None:
        return render(request, "error.html", {"status": 400, "title": "Link expired",
                      "detail": "This reset link is invalid, used or expired. Ask for a new "
                      "one."}, status_code=400)
    return render(request, "reset_form.html", {"token": token})


@router.post("/reset/{token}", dependencies=[CsrfChecked])
def reset_password(request: Request, token: str, engine: EngineDep,
                   password: Text = "") -> Response:
    user_id = _reset_user(request, engine, token)
    if user_id is None:
        return render(request, "error.html", {"status": 400, "title": "Link expired",
                      "detail": "This reset link is invalid, used or expired."}, status_code=400)
    try:
        check_new_password(password)
        hashed = hash_password(password)  # before the write transaction
        with write_transaction(engine) as conn:
            store_password_hash(conn, user_id, hashed)
            # whoever knew the old password may hold a session or a token: both end here
            end_user_sessions(conn, user_id)
            revoke_all_tokens(conn, user_id)
            mark_email_verified(conn, user_id, get_user(conn, user_id).email)  # type: ignore[union-attr]
    except AccountError as exc:
        return render(request, "reset_form.html", {"token": token, "error": str(exc)},
                      status_code=400)
    return _log_in(request, engine, user_id, "/?m=password-changed")


# --- settings ---------------------------------------------------------------------------

def _settings_page(request: Request, user: Any, engine: Any, **extra: Any) -> Response:
    settings = get_settings(request)
    with engine.connect() as conn:
        tokens = list_tokens(conn, user.id)
        feed_url = settings.base_url + personal_feed_path(
            settings.secret_key, user.id, user.username, feed_key(conn, user.id))
    status = extra.pop("status", 200)
    return render(request, "settings.html", {"tokens": tokens, "feed_url": feed_url, **extra},
                  status_code=status)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    return _settings_page(request, user, engine)


@router.post("/settings/profile", dependencies=[CsrfChecked])
def save_profile(user: CurrentUser, engine: EngineDep, display_name: Text = "",
                 bio: Text = "") -> Response:
    with write_transaction(engine) as conn:
        update_profile(conn, user.id, display_name=display_name, bio=bio)
    return RedirectResponse("/settings?m=profile-saved", status_code=303)


@router.post("/settings/password", dependencies=[CsrfChecked])
def change_password(request: Request, user: CurrentUser, engine: EngineDep,
                    limiter: Limiter, current: Text = "", password: Text = "",
                    end_sessions: Text = "", revoke_tokens: Text = "") -> Response:
    """Change the password; the form offers to log out every other session (ticked by
    default) and to revoke every API token."""
    if not limiter.allow("login", user_key(user.id)):
        return _settings_page(request, user, engine, status=429,
                              password_error="Too many attempts; wait a few minutes.")
    try:
        check_current_password(engine, user.email, current)
        check_new_password(password)
        hashed = hash_password(password)
        with write_transaction(engine) as conn:
            store_password_hash(conn, user.id, hashed)
            end_session(conn, request.cookies.get(SESSION_COOKIE))
            if end_sessions:
                end_user_sessions(conn, user.id)
            if revoke_tokens:
                revoke_all_tokens(conn, user.id)
    except AccountError as exc:
        return _settings_page(request, user, engine, status=400, password_error=str(exc))
    return _log_in(request, engine, user.id, "/settings?m=password-changed")


@router.post("/settings/tokens", dependencies=[CsrfChecked])
def new_token(request: Request, user: CurrentUser, engine: EngineDep,
              name: Text = "") -> Response:
    try:
        with write_transaction(engine) as conn:
            secret, token = create_token(conn, user.id, name)
    except ValueError as exc:
        return _settings_page(request, user, engine, status=400, token_error=str(exc))
    return _settings_page(request, user, engine, new_secret=secret, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def drop_token(token_id: RowId, user: CurrentUser, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        revoke_token(conn, user.id, token_id)
    return RedirectResponse("/settings?m=token-revoked#tokens", status_code=303)


@router.post("/settings/tokens/revoke-all", dependencies=[CsrfChecked])
def drop_all_tokens(user: CurrentUser, engine: EngineDep) -> Response:
    with write_transaction(engine) as conn:
        revoke_all_tokens(conn, user.id)
    return RedirectResponse("/settings?m=tokens-revoked#tokens", status_code=303)


@router.post("/settings/feed", dependencies=[CsrfChecked])
def new_feed_url(user: CurrentUser, engine: EngineDep) -> Response:
    """A new personal feed URL; the old one stops working."""
    with write_transaction(engine) as conn:
        rotate_feed_key(conn, user.id)
    return RedirectResponse("/settings?m=feed-url-changed#feed", status_code=303)
