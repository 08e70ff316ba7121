"""The digest send ledger: one row per (subscription x digest period), claimed before a
digest is built and confirmed after the SMTP server accepted it.

States: ``claimed`` (nothing sent yet) -> ``sending`` (committed just before the message is
handed to SMTP) -> ``sent`` | ``bounced`` (5xx) | ``deferred`` (4xx after all retries) |
``empty`` (nothing to send) | ``unknown`` (an interrupted send the operator chose not to
repeat). The unique (subscription, period) constraint is what keeps two workers from
claiming the same digest; rows of a dead worker are retaken with a compare-and-swap on
``owner``. Functions take a connection and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, func, select, update

from .database import dialect
from .mail_schema import digest_runs, digest_sends, sent_papers, subscriptions

IN_FLIGHT = ("claimed", "sending")
_LIVE_OWNERS: set[str] = set()  # runs of this process that have not ended
RETRYABLE = ("claimed", "sending", "deferred")


@dataclass(frozen=True, slots=True)
class Claim:
    """A digest this worker may send: its ledger row and the stable Message-ID."""

    ledger_id: int
    subscription_id: int
    email: str
    message_id: str
    resend: bool = False  # a retaken row whose earlier send may have reached the server


def new_owner(run: str) -> str:
    """The owner tag of a sending run: host, process id and a run token."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{run}"


def owner_lock_key(owner: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks derived from an owner tag."""
    digest = hashlib.blake2b(owner.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hold_owner_lock(conn: Connection, owner: str) -> None:
    """Mark ``owner`` alive for as long as ``conn`` stays open (PostgreSQL advisory lock).

    On SQLite nothing is needed: liveness is the owner's process id on this host.
    """
    _LIVE_OWNERS.add(owner)
    dialect(conn).hold_advisory_lock(conn, owner_lock_key(owner))


def release_owner_lock(conn: Connection, owner: str) -> None:
    """End ``owner``'s life: rows it left unfinished become retakeable at once."""
    _LIVE_OWNERS.discard(owner)
    dialect(conn).release_advisory_lock(conn, owner_lock_key(owner))


def owner_is_alive(conn: Connection, owner: str) -> bool:
    """Whether the worker that wrote ``owner`` still runs.

    PostgreSQL: its session still holds the advisory lock (works across hosts). SQLite:
    the process id still exists on this host (an SQLite file is only shared on one host).
    """
    held = dialect(conn).advisory_lock_held(conn, owner_lock_key(owner))
    if held is not None:
        return held
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname()[:60] and pid == str(os.getpid()):
        return owner in _LIVE_OWNERS  # an earlier run of this very process
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return True  # cannot tell: the claim timeout decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def message_id_for(period: str, sub_id: int, domain: str) -> str:
    """The Message-ID of a digest: the same for every attempt, so a repeat is detectable."""
    tag = hashlib.blake2b(f"{period}:{sub_id}".encode(), digest_size=6).hexdigest()
    return f"<digest.{period.replace(':', '.')}.{sub_id}.{tag}@{domain}>"


def start_run(conn: Connection, period: str, papers: int) -> None:
    """Record that digests of ``period`` are being sent (idempotent)."""
    stmt = dialect(conn).insert(digest_runs).values(
        period=period, started_at=dt.datetime.now(dt.UTC), papers=papers
    )
    conn.execute(stmt.on_conflict_do_nothing())


def finish_run(conn: Connection, period: str) -> None:
    """Mark ``period`` complete: nothing is left to send for it."""
    conn.execute(
        update(digest_runs)
        .where(digest_runs.c.period == period)
        .values(finished_at=dt.datetime.now(dt.UTC))
    )


def run_finished(conn: Connection, period: str) -> bool:
    """Whether a run of ``period`` finished (cron may call `digest send` again and again)."""
    return (
        conn.execute(
            select(digest_runs.c.finished_at).where(digest_runs.c.period == period)
        ).scalar_one_or_none()
        is not None
    )


def due_subscriptions(
    conn: Connection,
    period: str,
    frequency: str,
    *,
    after_id: int = 0,
    limit: int = 500,
    email: str | None = None,
) -> list[tuple[int, str]]:
    """(id, email) of active subscriptions of ``frequency`` with no ledger row for ``period``."""
    has_row = exists().where(
        and_(digest_sends.c.subscription_id == subscriptions.c.id, digest_sends.c.period == period)
    )
    query = (
        select(subscriptions.c.id, subscriptions.c.email)
        .where(
            subscriptions.c.status == "active",
            subscriptions.c.frequency == frequency,
            subscriptions.c.id > after_id,
            ~has_row,
        )
        .order_by(subscriptions.c.id)
        .limit(limit)
    )
    if email:
        query = query.where(subscriptions.c.email == email.strip().lower())
    return [(r.id, r.email) for r in conn.execute(query)]


def claim_digests(
    conn: Connection, period: str, due: Sequence[tuple[int, str]], owner: str, domain: str
) -> list[Claim]:
    """Insert ``claimed`` rows for ``due``; returns only the rows this call created (a row
    another worker inserted first is skipped by the unique constraint)."""
    if not due:
        return []
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "subscription_id": sub_id,
            "period": period,
            "email": email,
            "status": "claimed",
            "message_id": message_id_for(period, sub_id, domain),
            "owner": owner,
            "claimed_at": now,
        }
        for sub_id, email in due
    ]
    stmt = (
        dialect(conn)
        .insert(digest_sends)
        .on_conflict_do_nothing(index_elements=["subscription_id", "period"])
        .returning(
            digest_sends.c.id, digest_sends.c.subscription_id, digest_sends.c.email,
            digest_sends.c.message_id,
        )
    )
    result = conn.execute(stmt, rows)
    return [Claim(r.id, r.subscription_id, r.email, r.message_id) for r in result.all()]


def stale_rows(conn: Connection, period: str, *, me: str, timeout: dt.timedelta) -> list[Any]:
    """Ledger rows of ``period`` not finished by a worker that is gone, or deferred by 4xx."""
    rows = conn.execute(
        select(digest_sends).where(
            digest_sends.c.period == period,
            digest_sends.c.status.in_(RETRYABLE),
            digest_sends.c.owner != me,
        )
    ).all()
    cutoff = dt.datetime.now(dt.UTC) - timeout
    alive: dict[str, bool] = {}
    stale = []
    for row in rows:
        if row.status == "deferred":
            stale.append(row)
            continue
        if row.owner not in alive:
            alive[row.owner] = owner_is_alive(conn, row.owner)
        if not alive[row.owner] or row.claimed_at < cutoff:
            stale.append(row)
    return stale


def refresh_claims(conn: Connection, owner: str) -> int:
    """Heartbeat of a live sender: its unfinished rows (claimed, sending) get ``claimed_at``
    = now, so the claim timeout never retakes them while it runs. Returns rows touched."""
    result = conn.execute(
        update(digest_sends)
        .where(digest_sends.c.owner == owner, digest_sends.c.status.in_(("claimed", "sending")))
        .values(claimed_at=dt.datetime.now(dt.UTC))
    )
    return result.rowcount


def retake_row(conn: Connection, row: Any, owner: str, *, status: str = "claimed") -> bool:
    """Take over a stale row (compare-and-swap on its owner and status); True if we got it."""
    result = conn.execute(
        update(digest_sends)
        .where(
            digest_sends.c.id == row.id,
            digest_sends.c.owner == row.owner,
            digest_sends.c.status == row.status,
        )
        .values(owner=owner, status=status, claimed_at=dt.datetime.now(dt.UTC))
    )
    return result.rowcount == 1


def mark_sending(conn: Connection, ledger_id: int, owner: str, paper_ids: Sequence[int]) -> bool:
    """Move our claimed row to ``sending`` just before SMTP; False if it is not ours."""
    result = conn.execute(
        update(digest_sends)
        .where(
            digest_sends.c.id == ledger_id,
            digest_sends.c.owner == owner,
            digest_sends.c.status == "claimed",
        )
        .values(status="sending", attempts=digest_sends.c.attempts + 1, paper_ids=list(paper_ids))
    )
    return result.rowcount == 1


def mark_sent(conn: Connection, ledger_id: int) -> None:
    """Confirm a delivered digest: the one statement between the server's ``250`` and the
    commit (the papers it carried are recorded with :func:`record_sent_papers`)."""
    conn.execute(
        update(digest_sends)
        .where(digest_sends.c.id == ledger_id)
        .values(status="sent", sent_at=dt.datetime.now(dt.UTC), error=None)
    )


def mark_outcome(conn: Connection, ledger_id: int, status: str, error: str | None = None) -> None:
    """Close a row as ``empty``, ``bounced``, ``deferred`` or ``unknown`` with a reason."""
    conn.execute(
        update(digest_sends)
        .where(digest_sends.c.id == ledger_id)
        .values(status=status, error=(error or None) and error[:500])
    )


def ledger_counts(conn: Connection, period: str) -> dict[str, int]:
    """Rows of ``period`` per status."""
    rows = conn.execute(
        select(digest_sends.c.status, func.count())
        .where(digest_sends.c.period == period)
        .group_by(digest_sends.c.status)
    ).all()
    return {status: n for status, n in rows}


def papers_already_sent(
    conn: Connection, sub_ids: Sequence[int], paper_ids: Sequence[int]
) -> dict[int, set[int]]:
    """{subscription id: {paper id, ...}} among ``paper_ids`` already mailed to them."""
    found: dict[int, set[int]] = {}
    if not sub_ids or not paper_ids:
        return found
    lo, hi = min(paper_ids), max(paper_ids)
    for start in range(0, len(sub_ids), 900):
        chunk = list(sub_ids[start : start + 900])
        rows = conn.execute(
            select(sent_papers.c.subscription_id, sent_papers.c.paper_id).where(
                sent_papers.c.subscription_id.in_(chunk),
                sent_papers.c.paper_id.between(lo, hi),
            )
        )
        for sub_id, paper_id in rows:
            found.setdefault(sub_id, set()).add(paper_id)
    return found


def record_sent_papers(
    conn: Connection, sub_id: int, paper_ids: Sequence[int], day: dt.date
) -> None:
    """Remember papers mailed to a subscriber (a digest, or `digest send --to`), so that no
    later digest shows them again."""
    if paper_ids:
        stmt = dialect(conn).insert(sent_papers).on_conflict_do_nothing()
        conn.execute(stmt, [{"subscription_id": sub_id, "paper_id": p, "sent_on": day}
                            for p in paper_ids])

