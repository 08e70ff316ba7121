"""The secret URL of each user's personalised Atom feed.

Feed readers cannot send tokens or cookies, so the URL itself is the credential:
``/feeds/users/{username}/{secret}.atom`` with ``secret = HMAC(secret_key, user id and the
user's feed key)``. The feed key (store/feed_keys.py) is a random per-user value the user
can replace in account settings, which changes that user's URL; changing the site's
secret key changes every such URL.
"""

from __future__ import annotations

import hashlib
import hmac


def personal_feed_secret(secret_key: str, user_id: int, feed_key: str | None = None) -> str:
    """The 32-hex-digit secret of ``user_id``'s personal feed (``feed_key`` None: the URL
    of a user who never changed it)."""
    message = f"paperfeed personal feed {user_id}"
    if feed_key:
        message += f" {feed_key}"
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()[:32]


def personal_feed_path(secret_key: str, user_id: int, username: str,
                       feed_key: str | None = None) -> str:
    """Path of the personal feed, e.g. ``/feeds/users/ada/3f...e1.atom``."""
    return f"/feeds/users/{username}/{personal_feed_secret(secret_key, user_id, feed_key)}.atom"


def is_personal_feed_secret(secret_key: str, user_id: int, candidate: str,
                            feed_key: str | None = None) -> bool:
    """Constant-time check of a secret from a URL."""
    return hmac.compare_digest(personal_feed_secret(secret_key, user_id, feed_key), candidate)
