"""The secret URL of each user's personalised Atom feed.

Feed readers cannot send tokens or cookies, so the URL itself is the credential:
``/feeds/users/{username}/{secret}.atom`` with ``secret = HMAC(secret_key, user id)``.
Nothing is stored; changing the site's secret key changes every such URL.
"""

from __future__ import annotations

import hashlib
import hmac


def personal_feed_secret(secret_key: str, user_id: int) -> str:
    """The 32-hex-digit secret of ``user_id``'s personal feed."""
    message = f"paperfeed personal feed {user_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def personal_feed_path(secret_key: str, user_id: int, username: str) -> str:
    """Path of the personal feed, e.g. ``/feeds/users/ada/3f...e1.atom``."""
    return f"/feeds/users/{username}/{personal_feed_secret(secret_key, user_id)}.atom"


def is_personal_feed_secret(secret_key: str, user_id: int, candidate: str) -> bool:
    """Constant-time check of a secret from a URL."""
    return hmac.compare_digest(personal_feed_secret(secret_key, user_id), candidate)
