"""Subscribing and leaving: the steps the web routes and the CLI share.

Each function takes the caller's connection (inside its transaction) and records the
confirmation email in the outbox in that same transaction; it is delivered after commit
(:func:`paperfeed.mail.outbox.deliver_outbox`: the web app's background sender, the worker,
or the CLI command right after its commit).
"""

from __future__ import annotations

from sqlalchemy import Connection

from paperfeed.config import Settings
from paperfeed.store.subscriptions import (
    Preferences,
    Subscription,
    confirm_subscription,
    find_subscription,
    get_subscription,
    normalize_email,
    unsubscribe,
    upsert_subscription,
)

from .outbox import queue_message
from .tokens import (
    InvalidToken,
    address_digest,
    confirmation_token,
    read_confirmation_token,
    read_unsubscribe_claim,
)


def queue_confirmation(conn: Connection, settings: Settings, sub: Subscription) -> str:
    """Record the double opt-in email for ``sub``; returns its Message-ID."""
    token = confirmation_token(settings, sub.id, sub.email)
    return queue_message(conn, settings, "confirm_subscription", sub.email, {
        "url": f"{settings.base_url}/subscribe/confirm/{token}",
        "email": sub.email,
        "frequency": sub.prefs.frequency,
        "interests": sub.prefs.interests,
        "max_age_hours": settings.confirm_max_age_hours,
    })


def subscribe(
    conn: Connection,
    settings: Settings,
    email: str,
    prefs: Preferences,
    *,
    user_id: int | None = None,
    verified: bool = False,
    follows: bool = True,
) -> tuple[Subscription, bool]:
    """Create or update a subscription; queue a confirmation unless ``verified`` (e.g. a
    logged-in user whose address is verified). Returns (subscription, confirmation sent).
    An unverified request for an address that is already active changes nothing.

    ``follows=False`` leaves the owner's follows alone (a form that does not show them).
    Raises InvalidSubscription for a bad address or preference.
    """
    if not verified:
        existing = find_subscription(conn, email=normalize_email(email))
        if existing is not None and existing.status in ("active", "paused"):
            # Someone who cannot prove they own the address must not change (or learn
            # about) an active subscription; the caller answers as for a new one.
            return existing, False
    sub, pending = upsert_subscription(conn, email, prefs, confirmed=verified, user_id=user_id,
                                       follows=follows)
    if pending:
        queue_confirmation(conn, settings, sub)
    return sub, pending


def confirm_by_token(conn: Connection, settings: Settings, token: str) -> Subscription | None:
    """Activate the subscription named by a confirmation token (InvalidToken if bad)."""
    sub_id, email = read_confirmation_token(settings, token)
    return confirm_subscription(conn, sub_id, email)


def subscription_for_token(conn: Connection, settings: Settings, token: str) -> Subscription | None:
    """The subscription an unsubscribe/manage token names (InvalidToken if forged)."""
    return get_subscription(conn, subscription_id_for_token(conn, settings, token))


def subscription_id_for_token(conn: Connection, settings: Settings, token: str) -> int:
    """The subscription id an unsubscribe/manage token names, checked against the address
    the token names (InvalidToken if forged, or if that id now belongs to someone else)."""
    sub_id, digest = read_unsubscribe_claim(settings, token)
    if digest is not None:
        sub = get_subscription(conn, sub_id)
        if sub is not None and address_digest(sub.email) != digest:
            raise InvalidToken("this link belongs to an address that is no longer subscribed")
    return sub_id


def unsubscribe_by_token(conn: Connection, settings: Settings, token: str) -> Subscription | None:
    """Unsubscribe the subscription named by the token; returns it (None if deleted)."""
    sub_id = subscription_id_for_token(conn, settings, token)
    unsubscribe(conn, sub_id)
    return get_subscription(conn, sub_id)
