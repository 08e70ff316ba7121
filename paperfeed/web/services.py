"""Services that create_app builds once per app and web/deps.py hands out.

:class:`SiteEmbedder` is the one policy for the embedding model on the web side: it is
loaded on first use (a server does not wait for it at start-up) and, when it cannot load,
every feature that needs it degrades instead of failing: search runs on keywords, "For
you" and the personal feed show the week's trending papers, the digest preview says it
is unavailable.
"""

from __future__ import annotations

import logging
import threading

from paperfeed.config import Settings
from paperfeed.index.embedder import Embedder, load_embedder

log = logging.getLogger("paperfeed.web")


class SiteEmbedder:
    """The app's embedder, loaded once on first use; ``get()`` is None when it cannot load."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded = False
        self._embedder: Embedder | None = None

    def get(self) -> Embedder | None:
        if self._loaded:
            return self._embedder
        with self._lock:
            if not self._loaded:
                try:
                    self._embedder = load_embedder(self.settings)
                except Exception:
                    log.exception("could not load the embedding model: search runs on "
                                  "keywords, recommendations fall back to trending papers")
                    self._embedder = None
                self._loaded = True
        return self._embedder
