"""The web app's background mail sender: a daemon thread that delivers the outbox.

Requests only record mail (:func:`paperfeed.mail.outbox.queue_message`, in their
transaction) and call :meth:`OutboxSender.wake` after the commit, which returns at once; the
thread then runs :func:`~paperfeed.mail.outbox.deliver_outbox`, and again every
``poll_seconds`` for retries that have come due. A slow or silent SMTP relay therefore
holds up this thread only, never a request or the event loop. ``create_app``'s lifespan
starts and stops it; without a running sender (a test client without lifespan, a crash)
the rows wait in the outbox for the next sender or the worker.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from paperfeed.config import Settings

from .mailer import Mailer
from .outbox import deliver_outbox

log = logging.getLogger(__name__)

BATCH = 50


class OutboxSender:
    """``start()`` / ``wake()`` / ``stop()`` the thread that delivers the outbox."""

    def __init__(self, engine: Engine, settings: Settings, mailer: Mailer, *,
                 poll_seconds: float = 30.0) -> None:
        self.engine = engine
        self.settings = settings
        self.mailer = mailer
        self.poll_seconds = max(poll_seconds, 0.05)
        self.passes = 0  # delivery passes finished
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (idempotent; a stopped sender stays stopped); it makes a first
        pass for leftovers at once."""
        if self._thread is None:
            self._wake.set()
            self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Ask for a delivery pass soon (call after the commit that queued mail); never
        blocks, and does nothing harmful when the thread is not running."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, waiting at most ``timeout`` seconds: a send stuck on a silent
        relay is abandoned (daemon thread); its lease runs out and the row is sent later."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                while (deliver_outbox(self.engine, self.settings, self.mailer, limit=BATCH)
                       >= BATCH and not self._stop.is_set()):
                    pass
            except Exception:  # noqa: BLE001 - the next pass tries again; rows stay queued
                log.exception("outbox delivery pass failed")
            self.passes += 1
