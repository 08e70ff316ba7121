"""Digest subscription pages: subscribe (double opt-in), confirm, one-click unsubscribe
(RFC 8058 POST and a GET landing page), preferences by emailed link or in account
settings, "not interested" from a digest, and /digest/preview for logged-in users.

Links in emails carry signed tokens (paperfeed.mail.tokens); a GET never changes anything
(mail scanners follow links), the buttons on the landing pages POST. Every handler is a
plain ``def`` (run in the threadpool); confirmation emails are queued in the outbox by the
transaction that records the subscription and sent by the app's background sender.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paperfeed.config import Settings
from paperfeed.mail.subscribing import (
    confirm_by_token,
    subscribe,
    subscription_for_token,
    subscription_id_for_token,
    unsubscribe_by_token,
)
from paperfeed.mail.tokens import InvalidToken, unsubscribe_token
from paperfeed.store.database import write_transaction
from paperfeed.store.follows import Owner
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import (
    InvalidSubscription,
    Preferences,
    Subscription,
    find_subscription,
    followed_preferences,
    mark_not_interested,
    update_preferences,
)

from ..deps import (
    CsrfChecked,
    CurrentUser,
    EmbedderDep,
    EngineDep,
    Limiter,
    OptionalUser,
    SettingsDep,
    client_address,
)
from ..rendering import render
from .forms import PostedForm, too_many

router = APIRouter(tags=["subscriptions"])


def _split(value: str, *, commas: bool) -> list[str]:
    parts = re.split(r"[\n;,]+" if commas else r"[\n;]+", value or "")
    return [v.strip() for v in parts if v.strip()]


def _prefs_from_form(form: Any, settings: Settings) -> Preferences:
    try:
        max_papers = int(form.get("max_papers") or settings.digest_default_papers)
    except ValueError as exc:
        raise InvalidSubscription("the number of papers must be a number") from exc
    return Preferences(
        frequency=str(form.get("frequency") or "daily"),
        content=str(form.get("content") or "both"),
        interests=_split(str(form.get("interests") or ""), commas=False),
        authors=_split(str(form.get("authors") or ""), commas=False),
        categories=_split(str(form.get("categories") or ""), commas=True),
        exclude_categories=_split(str(form.get("exclude_categories") or ""), commas=True),
        muted_keywords=_split(str(form.get("muted_keywords") or ""), commas=True),
        max_papers=max_papers,
    )


def _has_follows(form: Any) -> bool:
    """Whether the form edits the follows (the full form does, the home page box not)."""
    return any(name in form for name in ("interests", "authors", "categories"))


def _form_page(request: Request, *, action: str, sub: Subscription | None, email: str = "",
               error: str = "", title: str = "Subscribe", status_code: int = 200,
               saved: bool = False, prefs: Preferences | None = None) -> HTMLResponse:
    return render(request, "mail/subscribe_form.html", {
        "action": action, "sub": sub, "prefs": sub.prefs if sub else (prefs or Preferences()),
        "email": sub.email if sub else email, "error": error, "title": title, "saved": saved,
    }, status_code=status_code)


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request, user: OptionalUser) -> Response:
    """The full subscription form (the home page box posts the email only)."""
    if user is not None:
        return RedirectResponse("/settings/subscription", status_code=303)
    return _form_page(request, action="/subscribe", sub=None)


@router.post("/subscribe", response_class=HTMLResponse, dependencies=[CsrfChecked])
def subscribe_post(request: Request, settings: SettingsDep, engine: EngineDep,
                   user: OptionalUser, limiter: Limiter, form: PostedForm) -> Response:
    """Record a pending subscription and queue the confirmation email. The answer is the
    same whether or not the address was subscribed already. Rate limited per client and
    per address (the sign-up limits), so nobody can flood a mailbox with confirmations."""
    email = str(form.get("email") or "")
    if not (limiter.allow("signup", "subscribe:" + client_address(request))
            and limiter.allow("signup", "subscribe-email:" + email.strip().lower())):
        raise too_many("subscription requests")
    verified = bool(user and user.email_verified and user.email.lower() == email.strip().lower())
    try:
        prefs = _prefs_from_form(form, settings)
        with write_transaction(engine) as conn:
            # The home page's box sends the address only: the follows stay as they are.
            sub, _ = subscribe(conn, settings, email, prefs,
                               user_id=user.id if verified and user else None,
                               verified=verified, follows=_has_follows(form))
    except InvalidSubscription as exc:
        return _form_page(request, action="/subscribe", sub=None, email=email, error=str(exc),
                          status_code=422)
    return render(request, "mail/subscribe_done.html",
                  {"state": "active" if verified else "check-inbox", "email": sub.email})


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> Response:
    """Landing page of the confirmation link: one button that confirms (POST)."""
    return render(request, "mail/subscribe_action.html", {
        "action": f"/subscribe/confirm/{token}", "heading": "Confirm your subscription",
        "text": "One click and your digest is on its way.", "button": "Confirm subscription",
    })


@router.post("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm_post(
    request: Request, token: str, settings: SettingsDep, engine: EngineDep
) -> Response:
    try:
        with write_transaction(engine) as conn:
            sub = confirm_by_token(conn, settings, token)
    except InvalidToken as exc:
        return render(request, "mail/subscribe_done.html", {"state": "invalid", "error": str(exc)},
                      status_code=400)
    if sub is None:
        return render(request, "mail/subscribe_done.html",
                      {"state": "invalid", "error": "this subscription no longer exists"},
                      status_code=404)
    return render(request, "mail/subscribe_done.html", {
        "state": "confirmed", "email": sub.email,
        "manage_url": f"/subscription/{unsubscribe_token(settings, sub.id, sub.email)}",
    })


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, token: str, settings: SettingsDep, engine: EngineDep
) -> Response:
    """Landing page of the unsubscribe link: a button (POST) and a link to preferences."""
    try:
        with engine.connect() as conn:
            sub = subscription_for_token(conn, settings, token)
    except InvalidToken as exc:
        return render(request, "mail/subscribe_done.html", {"state": "invalid", "error": str(exc)},
                      status_code=400)
    return render(request, "mail/subscribe_action.html", {
        "action": f"/unsubscribe/{token}", "heading": "Unsubscribe",
        "text": f"Stop all digests to {sub.email}?" if sub else "Stop the digests?",
        "button": "Unsubscribe",
        "secondary": (f"/subscription/{token}", "Change preferences instead"),
    })


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_post(
    request: Request, token: str, settings: SettingsDep, engine: EngineDep
) -> Response:
    """One-click unsubscribe (RFC 8058: the mail provider POSTs List-Unsubscribe=One-Click
    without cookies, so the signed token is the only credential)."""
    try:
        with write_transaction(engine) as conn:
            sub = unsubscribe_by_token(conn, settings, token)
    except InvalidToken as exc:
        return render(request, "mail/subscribe_done.html", {"state": "invalid", "error": str(exc)},
                      status_code=400)
    return render(request, "mail/subscribe_done.html",
                  {"state": "unsubscribed", "email": sub.email if sub else ""})


@router.get("/subscription/{token}", response_class=HTMLResponse)
def manage_page(request: Request, token: str, settings: SettingsDep, engine: EngineDep) -> Response:
    """Preferences of the subscription named by an emailed token."""
    try:
        with engine.connect() as conn:
            sub = subscription_for_token(conn, settings, token)
    except InvalidToken as exc:
        return render(request, "mail/subscribe_done.html", {"state": "invalid", "error": str(exc)},
                      status_code=400)
    if sub is None:
        return render(request, "mail/subscribe_done.html",
                      {"state": "invalid", "error": "this subscription no longer exists"},
                      status_code=404)
    return _form_page(request, action=f"/subscription/{token}", sub=sub,
                      title="Your digest preferences")


@router.post("/subscription/{token}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def manage_post(request: Request, token: str, settings: SettingsDep, engine: EngineDep,
                form: PostedForm) -> Response:
    try:
        with write_transaction(engine) as conn:
            sub_id = subscription_id_for_token(conn, settings, token)
            sub = update_preferences(conn, sub_id, _prefs_from_form(form, settings))
    except InvalidToken as exc:
        return render(request, "mail/subscribe_done.html", {"state": "invalid", "error": str(exc)},
                      status_code=400)
    except InvalidSubscription as exc:
        return _form_page(request, action=f"/subscription/{token}", sub=None, error=str(exc),
                          title="Your digest preferences", status_code=422)
    return _form_page(request, action=f"/subscription/{token}", sub=sub,
                      title="Your digest preferences", saved=True)


@router.get("/settings/subscription", response_class=HTMLResponse)
def settings_page(request: Request, user: CurrentUser, engine: EngineDep) -> Response:
    """A logged-in user's digest subscription (for their account address)."""
    with engine.connect() as conn:
        sub = find_subscription(conn, user_id=user.id) or find_subscription(conn, email=user.email)
        prefs = followed_preferences(conn, Owner(user_id=user.id))
    return _form_page(request, action="/settings/subscription", sub=sub, email=user.email,
                      title="Email digest", prefs=prefs)


@router.post("/settings/subscription", response_class=HTMLResponse, dependencies=[CsrfChecked])
def settings_post(request: Request, user: CurrentUser, settings: SettingsDep,
                  engine: EngineDep, form: PostedForm) -> Response:
    try:
        prefs = _prefs_from_form(form, settings)
        with write_transaction(engine) as conn:
            sub, _ = subscribe(conn, settings, user.email, prefs, user_id=user.id,
                               verified=user.email_verified, follows=_has_follows(form))
    except InvalidSubscription as exc:
        return _form_page(request, action="/settings/subscription", sub=None, email=user.email,
                          error=str(exc), title="Email digest", status_code=422)
    return _form_page(request, action="/settings/subscription", sub=sub, title="Email digest",
                      saved=True)


@router.get("/not-interested/{token}", response_class=HTMLResponse)
def not_interested_page(request: Request, token: str, paper: str = "") -> Response:
    """Landing page of a digest's "Not interested" link (POST to record it)."""
    return render(request, "mail/subscribe_action.html", {
        "action": f"/not-interested/{token}", "hidden": {"paper": paper},
        "heading": "Fewer papers like this?",
        "text": f"Tell your digest you are not interested in arXiv:{paper}. "
                "Similar papers will rank lower from now on.",
        "button": "Not interested",
    })


@router.post("/not-interested/{token}", response_class=HTMLResponse)
def not_interested_post(request: Request, token: str, settings: SettingsDep, engine: EngineDep,
                        paper: Annotated[str, Form()] = "") -> Response:
    from sqlalchemy import select

    try:
        with engine.connect() as conn:
            sub_id = subscription_id_for_token(conn, settings, token)
    except InvalidToken as exc:
        return render(request, "mail/subscribe_done.html", {"state": "invalid", "error": str(exc)},
                      status_code=400)
    with write_transaction(engine) as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == paper)).scalar()
        if paper_id is not None:
            mark_not_interested(conn, f"sub:{sub_id}", paper_id)
    return render(request, "mail/subscribe_done.html", {"state": "noted"})


@router.get("/digest/preview", response_class=HTMLResponse)
def digest_preview(request: Request, user: CurrentUser, settings: SettingsDep,
                   engine: EngineDep, embedder: EmbedderDep) -> Response:
    """The logged-in user's next digest, as the email HTML (nothing is recorded)."""
    from paperfeed.mail.digest import DigestBuilder, newest_day, period_for
    from paperfeed.store.subscriptions import Preferences as Prefs

    with engine.connect() as conn:
        sub = find_subscription(conn, user_id=user.id) or find_subscription(conn, email=user.email)
        day = newest_day(conn)
        if day is None:
            return render(request, "mail/subscribe_done.html", {"state": "no-papers"})
        if sub is None:  # show what a default digest would look like
            sub = Subscription(id=0, email=user.email, status="preview", prefs=Prefs(),
                               user_id=user.id)
        model = embedder.get()
        if model is None:
            return render(request, "mail/subscribe_done.html", {"state": "no-model"})
        builder = DigestBuilder(conn, settings, model,
                                period_for(sub.prefs.frequency, day))
        digest = builder.build(conn, [sub])[0]
    if digest.rendered is None:
        return render(request, "mail/subscribe_done.html", {"state": "empty-preview"})
    return HTMLResponse(digest.rendered.html, headers={"Cache-Control": "no-store"})

