"""The outbox: a crash mid-send loses nothing (claims are leases), failures are retried
with backoff, a 5xx refusal is final, the background sender delivers after a wake, and a
sign-up's verification mail survives its web process being SIGKILLed mid-send."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from paperfeed.config import Settings
from paperfeed.mail.mailer import (
    MemoryMailer,
    Message,
    PermanentMailError,
    TransientMailError,
    mailer_from_settings,
)
from paperfeed.mail.outbox import (
    MAX_ATTEMPTS,
    claim_lease,
    deliver_outbox,
    queue_message,
    retry_delay,
)
from paperfeed.mail.outbox_sender import OutboxSender
from paperfeed.mail.schedule import flush_outbox
from paperfeed.store.database import write_transaction
from paperfeed.store.mail_schema import mail_outbox

from .smtp_sink import SinkHandler, SmtpSink, free_port

CONTEXT = {"url": "http://testserver/reset/abc", "username": "ada"}


class Crash(BaseException):
    """The process dies mid-send (not an Exception: nothing in deliver_outbox catches it)."""


class FailingMailer:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def send(self, message: Message) -> None:
        self.calls += 1
        raise self.error

    def close(self) -> None:
        pass


def queue(engine: Engine, settings: Settings) -> None:
    with write_transaction(engine) as conn:
        queue_message(conn, settings, "password_reset", "ada@example.org", CONTEXT)


def row(engine: Engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(mail_outbox)).one()


def test_a_crash_mid_send_loses_nothing_the_lease_runs_out_and_it_is_sent(
    engine: Engine, settings: Settings
) -> None:
    queue(engine, settings)
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(Crash):
        deliver_outbox(engine, settings, FailingMailer(Crash()), now=now)
    crashed = row(engine)
    assert crashed.sent_at is None and crashed.claimed_at is not None
    mailer = MemoryMailer()
    # While the lease holds, nobody else sends it (the first sender may still be sending).
    assert deliver_outbox(engine, settings, mailer, now=now + dt.timedelta(seconds=60)) == 0
    later = now + claim_lease(settings) + dt.timedelta(seconds=1)
    assert deliver_outbox(engine, settings, mailer, now=later) == 1
    (message,) = mailer.messages
    assert message["To"] == "ada@example.org" and "/reset/abc" in str(message.get_body())
    assert row(engine).sent_at is not None
    assert deliver_outbox(engine, settings, mailer, now=later + claim_lease(settings) * 2) == 0


def test_failures_are_retried_with_exponential_backoff(engine: Engine, settings: Settings) -> None:
    queue(engine, settings)
    now = dt.datetime.now(dt.UTC)
    failing = FailingMailer(TransientMailError("451 try later", 451))
    assert deliver_outbox(engine, settings, failing, now=now) == 0
    first = row(engine)
    assert (first.attempts, first.claimed_at, first.sent_at) == (1, None, None)
    assert "451" in first.error
    assert retry_delay(1) < retry_delay(2) < retry_delay(3)
    mailer = MemoryMailer()
    assert deliver_outbox(engine, settings, mailer, now=now + retry_delay(1) / 2) == 0
    assert deliver_outbox(engine, settings, failing, now=now + retry_delay(1)) == 0
    second = row(engine)
    assert second.attempts == 2 and failing.calls == 2
    # the second wait is longer than the first
    assert deliver_outbox(engine, settings, mailer,
                          now=now + retry_delay(1) + retry_delay(1) * 1.5) == 0
    due = now + retry_delay(1) + retry_delay(2) + dt.timedelta(seconds=1)
    assert deliver_outbox(engine, settings, mailer, now=due) == 1
    assert len(mailer.messages) == 1 and row(engine).error is None


def test_a_permanent_refusal_is_not_retried(engine: Engine, settings: Settings) -> None:
    queue(engine, settings)
    now = dt.datetime.now(dt.UTC)
    refused = FailingMailer(PermanentMailError("550 no such mailbox", 550))
    deliver_outbox(engine, settings, refused, now=now)
    assert row(engine).attempts == MAX_ATTEMPTS
    assert deliver_outbox(engine, settings, MemoryMailer(), now=now + dt.timedelta(days=1)) == 0
    assert refused.calls == 1


def test_the_background_sender_delivers_after_a_wake(engine: Engine, settings: Settings) -> None:
    mailer = MemoryMailer()
    sender = OutboxSender(engine, settings, mailer, poll_seconds=3600)
    sender.start()
    try:
        deadline = time.monotonic() + 10
        while sender.passes < 1:  # the first pass (leftovers) found nothing
            assert time.monotonic() < deadline
            time.sleep(0.01)
        queue(engine, settings)
        sender.wake()
        while not mailer.messages:
            assert time.monotonic() < deadline, "the woken sender did not deliver"
            time.sleep(0.01)
    finally:
        sender.stop()
    assert not sender.running
    assert isinstance(mailer.messages[0], EmailMessage) and row(engine).sent_at is not None


def test_a_sign_up_whose_web_process_is_killed_mid_send_still_gets_its_verification_mail(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The verification mail of a sign-up is in the outbox when the answer leaves: the web
    process is SIGKILLed while its background sender is in the middle of handing the mail
    to SMTP (the relay holds DATA), and a worker still delivers it, once, after the dead
    sender's lease ran out."""
    hold = threading.Event()

    def first_data_hangs_then_fails(attempt: int) -> str | None:
        if attempt == 1:  # the web process's send: it dies while waiting for the reply
            hold.wait(60)
            return "451 4.3.0 the client is gone anyway"
        return None

    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "PAPERFEED_EMBEDDING_BACKEND": "hashing",
           "PAPERFEED_CACHE_DIR": settings.cache_dir, "PAPERFEED_SECRET_KEY": settings.secret_key,
           "PAPERFEED_CONFIG": str(tmp_path / "none.toml"), "PAPERFEED_RATE_LIMITS": "false",
           "PAPERFEED_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with SmtpSink(SinkHandler(data_reply=first_data_hangs_then_fails)) as sink:
        env["PAPERFEED_SMTP_URL"] = sink.url
        web = subprocess.Popen(
            [sys.executable, "-m", "paperfeed.cli", "serve", "--db", settings.database_url,
             "--port", str(port), "--workers", "1"], env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                deadline = time.monotonic() + 120
                while True:
                    assert web.poll() is None and time.monotonic() < deadline, "no server"
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.3)
                form = client.get("/signup").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert token
                answer = client.post("/signup", data={
                    "csrf_token": token.group(1), "username": "grace",
                    "email": "grace@example.org", "password": "correct horse battery staple"})
                assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 30
            while sink.handler.attempts < 1:  # the background sender is handing it over
                assert time.monotonic() < deadline, "the web process never reached SMTP"
                time.sleep(0.02)
        finally:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
            hold.set()
        leased = row(engine)
        assert leased.name == "verify_email" and leased.recipient == "grace@example.org"
        assert leased.sent_at is None and leased.claimed_at is not None and not sink.received
        cfg = settings.model_copy(update={"smtp_url": sink.url})
        mailer = mailer_from_settings(cfg)
        assert flush_outbox(engine, cfg, mailer) == 0  # the dead sender's lease still holds
        after_lease = leased.claimed_at + claim_lease(cfg) + dt.timedelta(seconds=1)
        if after_lease.tzinfo is None:
            after_lease = after_lease.replace(tzinfo=dt.UTC)
        assert deliver_outbox(engine, cfg, mailer, now=after_lease) == 1
        assert deliver_outbox(engine, cfg, mailer, now=after_lease + claim_lease(cfg)) == 0
        mailer.close()
    (mail,) = sink.received
    assert mail.rcpt_tos == ["grace@example.org"] and mail.message_id == leased.message_id
    assert "/verify/" in mail.message.get_body(("plain",)).get_content()
    assert row(engine).sent_at is not None


def test_sent_at_is_committed_right_after_the_250_and_on_postgres_only_the_commit(
    engine: Engine, settings: Settings
) -> None:
    """After the relay's 250 the outbox records ``sent_at`` at once, in one transaction;
    on PostgreSQL that UPDATE already ran before the handoff, so only the COMMIT is left
    (the window in which a crash would send the message again)."""
    from sqlalchemy import event

    for _ in range(3):
        queue(engine, settings)
    log: list[tuple[str, str]] = []

    def on_sql(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        log.append(("sql", " ".join(statement.split())))

    def on_commit(conn: Any) -> None:
        log.append(("commit", ""))

    class Recording(MemoryMailer):
        def send(self, message: Message) -> None:
            super().send(message)
            log.append(("250", ""))

    event.listen(engine, "before_cursor_execute", on_sql)
    event.listen(engine, "commit", on_commit)
    try:
        assert deliver_outbox(engine, settings, Recording()) == 3
    finally:
        event.remove(engine, "before_cursor_execute", on_sql)
        event.remove(engine, "commit", on_commit)

    def marks_sent(statement: str) -> bool:
        return statement.startswith("UPDATE mail_outbox SET sent_at")

    handoffs = [i for i, (kind, _) in enumerate(log) if kind == "250"]
    assert len(handoffs) == 3
    for i in handoffs:
        after = log[i + 1:]
        commit = next(j for j, (kind, _) in enumerate(after) if kind == "commit")
        between = [what for kind, what in after[:commit] if kind == "sql"]
        begun = max(j for j, (kind, _) in enumerate(log[:i]) if kind == "commit")
        before = [what for kind, what in log[begun + 1:i] if kind == "sql"]
        if engine.dialect.name == "postgresql":
            assert between == [] and sum(map(marks_sent, before)) == 1, (before, between)
        else:
            assert sum(map(marks_sent, between)) == 1 and not any(map(marks_sent, before))
    with engine.connect() as conn:
        assert all(conn.execute(select(mail_outbox.c.sent_at)).scalars())
