"""Who may sign up on the web: the ``signup`` setting (open, invite, domains, closed).

``closed`` refuses every web sign-up (403; operators add accounts with ``paperfeed users
add``); ``invite`` accepts only sign-ups through an invite URL (``paperfeed users invite``);
``domains`` accepts addresses at one of ``signup_domains`` (or a subdomain of one), and
invite URLs. The checks need only the form, so they run before anyone looks the address up.
"""

from __future__ import annotations

from paperfeed.config import Settings
from paperfeed.store.users import AccountError

CLOSED = "Sign-up is closed on this site. Ask the people who run it for an account."
INVITE_ONLY = "Sign-up on this site is by invitation only: use the invite link you were sent."


def signup_refusal(settings: Settings, invite: str) -> str | None:
    """Why nobody may sign up here with this (possibly empty) invite, else None."""
    if settings.signup == "closed":
        return CLOSED
    if settings.signup == "invite" and not invite:
        return INVITE_ONLY
    return None


def allowed_domains(settings: Settings) -> list[str]:
    """The domains of ``signup=domains`` (empty in every other mode)."""
    if settings.signup != "domains":
        return []
    return [d for d in settings.signup_domains.split(",") if d]


def check_signup_domain(settings: Settings, email: str, invite: str) -> None:
    """Raise AccountError when ``signup=domains`` does not admit the (normalised) ``email``;
    an invite URL admits any address."""
    domains = allowed_domains(settings)
    if not domains or invite:
        return
    domain = email.rpartition("@")[2]
    if not any(domain == d or domain.endswith("." + d) for d in domains):
        raise AccountError("Sign-up here is open to addresses at " + ", ".join(domains) + ".")
