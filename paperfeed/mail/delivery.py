"""Sending the digests of a period exactly once (as far as SMTP allows): the ledger protocol.

For each batch of due subscriptions:

1. **claim** — one transaction inserts a ``claimed`` ledger row per (subscription, period);
   the unique constraint lets only one worker win each row (two workers on PostgreSQL
   split the list between them);
2. **build** the digests of the claimed rows (vectorised) and render them;
3. per message: commit ``sending`` → hand it to SMTP → commit ``sent`` (with the papers,
   so no paper is ever sent twice to the same person) or ``bounced`` / ``deferred``. Each
   message's ``sent`` is committed on its own, right after its ``250`` (never batched). On
   PostgreSQL the papers are even written *before* the handoff, in a transaction left open
   while the server answers, so after the ``250`` only the ledger row's UPDATE and the
   COMMIT remain; a refused send rolls it back. (The ledger row itself is not written
   before the ``250``: the claim heartbeat keeps refreshing it meanwhile.)

After a crash (kill -9 at any moment) the next run finds the dead worker's rows (its
PostgreSQL advisory lock is gone, or its process id on this host is) and resolves them:

- ``claimed``: nothing reached the server, so it is sent normally;
- ``sending``: the server may or may not have accepted it before the crash. That window
  (between the server's ``250`` and our commit) cannot be closed over SMTP, which has no
  two-phase commit: only the receiver could drop the repeat. With
  ``digest_unconfirmed = "resend"`` (default, at-least-once) the digest is sent again
  with the *same* Message-ID, so a duplicate is detectable and mailbox providers that
  de-duplicate on Message-ID drop it; with ``"skip"`` (at-most-once) the row is marked
  ``unknown`` and nothing is repeated. At most ``smtp_concurrency`` rows can be in that
  window at once.
- ``deferred`` (4xx after all retries): retried.

A period is marked finished when no row is left to send, so cron can call it every few
minutes; days without new papers send nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from paperfeed.config import Settings
from paperfeed.index.embedder import Embedder
from paperfeed.rank.profiles import embed_missing_interests
from paperfeed.store import digest_ledger as ledger
from paperfeed.store.database import dialect, write_transaction
from paperfeed.store.subscriptions import get_subscriptions, record_delivery

from .claim_heartbeat import ClaimHeartbeat
from .digest import (
    Digest,
    DigestBuilder,
    DigestPeriod,
    list_unsubscribe_headers,
    newest_day,
    period_for,
)
from .mailer import Mailer, PermanentMailError, TransientMailError
from .messages import mail_domain
from .mime import compose_raw


@dataclass(slots=True)
class DigestReport:
    """What a run did; ``skipped`` says why nothing was sent, if so."""

    period: str = ""
    papers: int = 0
    claimed: int = 0
    sent: int = 0
    empty: int = 0
    bounced: int = 0
    deferred: int = 0
    resent: int = 0
    unknown: int = 0
    paused: int = 0
    skipped: str = ""
    finished: bool = False
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in (
            "period", "papers", "claimed", "sent", "empty", "bounced", "deferred", "resent",
            "unknown", "paused", "skipped", "finished")}


class DigestSender:
    """One run over one period (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        mailer: Mailer,
        embedder: Embedder,
        period: DigestPeriod,
        *,
        batch_size: int = 500,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.mailer = mailer
        self.embedder = embedder
        self.period = period
        self.batch_size = batch_size
        self.owner = ledger.new_owner(uuid.uuid4().hex[:12])
        self.domain = mail_domain(settings)
        self.report = DigestReport(period=period.key)
        self.on_sent = on_sent
        self.builder: DigestBuilder | None = None
        # a quarter of the claim timeout: several beats before anyone may retake a row
        self.heartbeat_seconds = max(1.0, settings.digest_claim_timeout_minutes * 60 / 4)

    # -- the run -------------------------------------------------------------------------
    def run(self, *, only_email: str | None = None) -> DigestReport:
        """Send every digest of the period not sent yet; returns the report."""
        with self.engine.connect() as conn:
            if not only_email and ledger.run_finished(conn, self.period.key):
                self.report.skipped = "already sent"
                self.report.finished = True
                return self.report
        lock_conn = self.engine.connect()
        heartbeat = ClaimHeartbeat(self.engine, self.owner, self.heartbeat_seconds)
        try:
            ledger.hold_owner_lock(lock_conn, self.owner)
            heartbeat.start()
            with write_transaction(self.engine, durable=True) as conn:
                embed_missing_interests(conn, self.embedder)
            with self.engine.connect() as conn:
                self.builder = DigestBuilder(conn, self.settings, self.embedder, self.period)
            self.report.papers = self.builder.paper_count
            if self.builder.paper_count == 0:
                self.report.skipped = "no new papers in this period"
                return self.report
            with write_transaction(self.engine, durable=True) as conn:
                ledger.start_run(conn, self.period.key, self.builder.paper_count)
            with ThreadPoolExecutor(max_workers=max(1, self.settings.smtp_concurrency)) as pool:
                # Batch k+1 is claimed and built while batch k is on the wire.
                in_flight = self._send_claims(pool, self._retake_stale())
                after = 0
                while True:
                    with write_transaction(self.engine, durable=True) as conn:
                        due = ledger.due_subscriptions(
                            conn, self.period.key, self.period.frequency, after_id=after,
                            limit=self.batch_size, email=only_email,
                        )
                        claims = ledger.claim_digests(conn, self.period.key, due, self.owner,
                                                      self.domain)
                    if not due:
                        break
                    after = due[-1][0]
                    self.report.bump("claimed", len(claims))
                    submitted = self._send_claims(pool, claims)
                    _wait(in_flight)
                    in_flight = submitted
                _wait(in_flight)
            self._finish(only_email)
            return self.report
        finally:
            heartbeat.stop()
            try:
                ledger.release_owner_lock(lock_conn, self.owner)
            finally:
                lock_conn.close()

    def _retake_stale(self) -> list[ledger.Claim]:
        timeout = dt.timedelta(minutes=self.settings.digest_claim_timeout_minutes)
        claims = []
        with write_transaction(self.engine, durable=True) as conn:
            for row in ledger.stale_rows(conn, self.period.key, me=self.owner, timeout=timeout):
                if row.status == "sending" and self.settings.digest_unconfirmed == "skip":
                    ledger.mark_outcome(conn, row.id, "unknown",
                                        "interrupted during SMTP; not resent (at-most-once)")
                    self.report.bump("unknown")
                    continue
                if ledger.retake_row(conn, row, self.owner):
                    claims.append(ledger.Claim(row.id, row.subscription_id, row.email,
                                               row.message_id, resend=row.status == "sending"))
        return claims

    def _finish(self, only_email: str | None) -> None:
        with write_transaction(self.engine, durable=True) as conn:
            counts = ledger.ledger_counts(conn, self.period.key)
            left = sum(counts.get(s, 0) for s in ledger.RETRYABLE)
            due = ledger.due_subscriptions(conn, self.period.key, self.period.frequency, limit=1)
            if not only_email and not left and not due:
                ledger.finish_run(conn, self.period.key)
                self.report.finished = True

    # -- one batch -----------------------------------------------------------------------
    def _send_claims(
        self, pool: ThreadPoolExecutor, claims: list[ledger.Claim]
    ) -> list[Future[None]]:
        """Build the digests of ``claims`` and hand them to the pool; returns the futures."""
        if not claims:
            return []
        assert self.builder is not None
        with self.engine.connect() as conn:
            subs = get_subscriptions(conn, [c.subscription_id for c in claims])
            live = [c for c in claims
                    if (s := subs.get(c.subscription_id)) is not None and s.status == "active"]
            gone = [c for c in claims if c not in live]
            digests = self.builder.build(conn, [subs[c.subscription_id] for c in live])
        empty = [c for c, d in zip(live, digests, strict=True) if d.rendered is None]
        if empty or gone:
            with write_transaction(self.engine, durable=True) as conn:
                for claim in empty:
                    ledger.mark_outcome(conn, claim.ledger_id, "empty", "no matching papers")
                for claim in gone:  # unsubscribed or paused since the claim
                    ledger.mark_outcome(conn, claim.ledger_id, "empty", "no longer active")
            self.report.bump("empty", len(empty) + len(gone))
        return [
            pool.submit(self._send_one, claim, digest, subs[claim.subscription_id].failures > 0)
            for claim, digest in zip(live, digests, strict=True)
            if digest.rendered is not None
        ]

    def _send_one(self, claim: ledger.Claim, digest: Digest, had_failures: bool) -> None:
        assert digest.rendered is not None
        paper_ids = digest.paper_ids
        message = compose_raw(
            self.settings, claim.email, digest.rendered, message_id=claim.message_id,
            headers=list_unsubscribe_headers(self.settings, claim.subscription_id, claim.email),
        )
        with write_transaction(self.engine, durable=True) as conn:
            if not ledger.mark_sending(conn, claim.ledger_id, self.owner, paper_ids):
                return  # taken over by another worker (our claim timed out)
            # where a transaction locks only its rows (PostgreSQL; see the module's step 3)
            papers_first = dialect(conn).ROW_LOCKS
        try:
            if papers_first:
                # The papers are written before the handoff, in a transaction that stays
                # open; after the 250 only the ledger row's UPDATE and the COMMIT remain. A
                # failed send raises out of the block and rolls it back; a crash leaves the
                # row "sending" (the database drops the open transaction).
                with write_transaction(self.engine, durable=True) as conn:
                    ledger.record_sent_papers(conn, claim.subscription_id, paper_ids,
                                              self.period.end)
                    self.mailer.send(message)
                    self._confirm(conn, claim, had_failures)
            else:
                self.mailer.send(message)
                with write_transaction(self.engine, durable=True) as conn:
                    self._confirm(conn, claim, had_failures)
                    ledger.record_sent_papers(conn, claim.subscription_id, paper_ids,
                                              self.period.end)
        except PermanentMailError as exc:
            with write_transaction(self.engine, durable=True) as conn:
                ledger.mark_outcome(conn, claim.ledger_id, "bounced", f"{exc.code}: {exc}")
                paused = record_delivery(conn, claim.subscription_id, error=str(exc),
                                         limit=self.settings.mail_bounce_limit)
            self.report.bump("bounced")
            self.report.bump("paused", int(paused))
            return
        except TransientMailError as exc:
            with write_transaction(self.engine, durable=True) as conn:
                ledger.mark_outcome(conn, claim.ledger_id, "deferred", f"{exc.code}: {exc}")
            self.report.bump("deferred")
            return
        self.report.bump("sent")
        if claim.resend:
            self.report.bump("resent")
        if self.on_sent:
            self.on_sent(claim.subscription_id)


    @staticmethod
    def _confirm(conn: Connection, claim: ledger.Claim, had_failures: bool) -> None:
        """What must follow the server's 250 (the window ends with its COMMIT)."""
        ledger.mark_sent(conn, claim.ledger_id)
        if had_failures:  # a success clears the subscription's count of failed sends
            record_delivery(conn, claim.subscription_id, error=None, limit=0)


def _wait(futures: list[Future[None]]) -> None:
    for future in futures:
        future.result()


def send_digests(
    engine: Engine,
    settings: Settings,
    mailer: Mailer,
    embedder: Embedder,
    *,
    frequency: str = "daily",
    day: dt.date | None = None,
    only_email: str | None = None,
    batch_size: int = 500,
) -> DigestReport:
    """Send the ``frequency`` digests of ``day`` (default: the newest announcement day).

    Idempotent and safe to run concurrently (see the module docstring). Side effects:
    ledger rows, sent papers, subscription failure counts, and the emails themselves.
    """
    if day is None:
        with engine.connect() as conn:
            day = newest_day(conn)
        if day is None:
            return DigestReport(skipped="no papers in the database")
    sender = DigestSender(engine, settings, mailer, embedder, period_for(frequency, day),
                          batch_size=batch_size)
    return sender.run(only_email=only_email)
