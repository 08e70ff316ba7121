"""Signed tokens in email links: subscription confirmation (expiring), and the per-subscriber
token of unsubscribe, preference and "not interested" links (long-lived: RFC 8058 links in
old digests must keep working).

Tokens are signed with ``settings.secret_key`` by itsdangerous, with one salt per purpose
so a token made for one action is useless for another.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from paperfeed.config import Settings

_CONFIRM = "paperfeed.mail.confirm"
_UNSUBSCRIBE = "paperfeed.mail.unsubscribe"


class InvalidToken(ValueError):
    """The token is forged, for another purpose, or expired."""


def confirmation_token(settings: Settings, sub_id: int, email: str) -> str:
    """A token proving that ``email`` received the confirmation of subscription ``sub_id``."""
    return URLSafeTimedSerializer(settings.secret_key, salt=_CONFIRM).dumps([sub_id, email])


def read_confirmation_token(settings: Settings, token: str) -> tuple[int, str]:
    """(subscription id, email) from a confirmation token younger than the configured age."""
    serializer = URLSafeTimedSerializer(settings.secret_key, salt=_CONFIRM)
    try:
        sub_id, email = serializer.loads(token, max_age=settings.confirm_max_age_hours * 3600)
    except SignatureExpired as exc:
        raise InvalidToken("this confirmation link has expired") from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("this link is not valid") from exc
    return int(sub_id), str(email)


def unsubscribe_token(settings: Settings, sub_id: int, email: str) -> str:
    """A non-expiring token that unsubscribes (or manages) subscription ``sub_id`` of
    ``email``: it names the address (by a digest: the token itself, which ends up in access
    logs, does not show it), so it never acts on another person's subscription."""
    return URLSafeSerializer(settings.secret_key, salt=_UNSUBSCRIBE).dumps(
        [sub_id, address_digest(email)])


def address_digest(email: str) -> str:
    """The short digest of an address that unsubscribe tokens carry."""
    return hashlib.blake2b(email.strip().lower().encode(), digest_size=9).hexdigest()


def read_unsubscribe_claim(settings: Settings, token: str) -> tuple[int, str | None]:
    """(subscription id, address digest) inside an unsubscribe token; the digest is None in
    tokens made before they named the address (links in old digests keep working)."""
    try:
        data = URLSafeSerializer(settings.secret_key, salt=_UNSUBSCRIBE).loads(token)
        if isinstance(data, list) and len(data) == 2 and isinstance(data[1], str):
            return int(data[0]), data[1]
        if isinstance(data, int):
            return data, None
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("this link is not valid") from exc
    raise InvalidToken("this link is not valid")


def read_unsubscribe_token(settings: Settings, token: str) -> int:
    """The subscription id inside an unsubscribe token."""
    return read_unsubscribe_claim(settings, token)[0]

