"""Is this an email address? One answer for accounts and subscriptions.

A hand-written pattern let ``a,b@example.org`` through, which a mail server reads as two
recipients. ``email-validator`` implements the RFC syntax (no quoted local parts, no
commas, a dotted domain, no special-use domains such as .local or .test); deliverability
(DNS) is not checked, so validation needs no network.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 320


def is_email_address(value: str) -> bool:
    """True when ``value`` (already trimmed) is one syntactically valid address."""
    if not value or len(value) > MAX_LENGTH:
        return False
    try:
        validate_email(value, check_deliverability=False, allow_quoted_local=False,
                       allow_display_name=False)
    except EmailNotValidError:
        return False
    return True
