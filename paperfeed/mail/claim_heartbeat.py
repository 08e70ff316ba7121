"""A live digest sender keeps its claims fresh, so nobody retakes them and mails twice.

The ledger lets another worker retake a claimed or sending row whose owner is gone, or whose
``claimed_at`` is older than ``digest_claim_timeout_minutes``. A single batch can take longer
than that (a slow relay, many subscribers); without a heartbeat its rows would look abandoned
while they are on the wire, and a second worker would send them again. :class:`ClaimHeartbeat`
is a daemon thread that refreshes the owner's unfinished rows every ``interval`` seconds
until stopped.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from paperfeed.store import digest_ledger as ledger
from paperfeed.store.database import write_transaction

log = logging.getLogger(__name__)


class ClaimHeartbeat:
    """``start()`` / ``stop()`` a thread that keeps ``owner``'s claims fresh."""

    def __init__(self, engine: Engine, owner: str, interval: float) -> None:
        self.engine = engine
        self.owner = owner
        self.interval = max(interval, 0.05)
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin refreshing (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="digest-heartbeat",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop refreshing and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with write_transaction(self.engine, durable=True) as conn:
                    ledger.refresh_claims(conn, self.owner)
                self.beats += 1
            except SQLAlchemyError:  # the next beat tries again; the timeout is generous
                log.warning("could not refresh the digest claims of %s", self.owner,
                            exc_info=True)
