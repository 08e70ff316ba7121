"""Digest delivery against a real SMTP server (aiosmtpd on 127.0.0.1): headers, exactly once
across re-runs, kill -9 mid-batch, a server failing halfway (4xx, 5xx, dropped connection),
two concurrent senders, never the same paper twice, no digest without new papers."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.mail.delivery import DigestSender, send_digests
from paperfeed.mail.digest import period_for
from paperfeed.mail.mailer import MemoryMailer, SmtpMailer, mailer_from_settings
from paperfeed.mail.tokens import read_unsubscribe_token
from paperfeed.store.database import open_engine
from paperfeed.store.mail_schema import digest_sends, sent_papers, subscriptions

from .mail_corpus import DAY1, DAY2, add_corpus, add_subscriber, mail_settings
from .smtp_sink import SinkHandler, SmtpSink

EMBEDDER = HashingEmbedder()
INTERESTS = ["long context attention", "protein structure", "speech recognition",
             "vision transformers", "graph neural networks molecules"]


def add_many(engine, n: int) -> list[str]:
    emails = [f"reader{i:03d}@example.org" for i in range(n)]
    for i, email in enumerate(emails):
        add_subscriber(engine, email, INTERESTS[i % len(INTERESTS)])
    return emails


def per_recipient(received) -> dict[str, list[str]]:
    found: dict[str, list[str]] = collections.defaultdict(list)
    for item in received:
        for rcpt in item.rcpt_tos:
            found[rcpt].append(item.message_id)
    return found


def ledger(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.email: r.status
                for r in conn.execute(select(digest_sends.c.email, digest_sends.c.status))}


def test_each_subscriber_gets_one_digest_with_list_headers(engine, settings):
    add_corpus(engine)
    emails = add_many(engine, 3)
    with SmtpSink() as sink:
        cfg = mail_settings(settings, sink.url, smtp_concurrency=1)
        mailer = mailer_from_settings(cfg)
        report = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
        again = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
        mailer.close()
    assert (report.sent, report.finished) == (3, True)
    assert again.skipped == "already sent" and again.sent == 0
    assert sorted(per_recipient(sink.received)) == emails
    # one connection, reused
    assert isinstance(mailer, SmtpMailer) and mailer.connections_opened == 1
    msg = sink.received[0].message
    assert msg["Date"] and msg["Message-ID"].endswith("@paperfeed.test>")
    unsubscribe = msg["List-Unsubscribe"]
    assert "<https://papers.example/unsubscribe/" in unsubscribe and (
        "<mailto:unsubscribe@paperfeed.test?subject=unsubscribe%20" in unsubscribe
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe.split("/unsubscribe/")[1].split(">")[0]
    with engine.connect() as conn:
        sub_id = conn.execute(select(subscriptions.c.id).where(
            subscriptions.c.email == sink.received[0].rcpt_tos[0])).scalar()
    assert read_unsubscribe_token(cfg, token) == sub_id
    assert {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}
    assert set(ledger(engine).values()) == {"sent"}


def test_never_the_same_paper_twice_and_no_digest_without_papers(engine, settings):
    add_corpus(engine)
    add_subscriber(engine, "a@example.org", "long context attention", content="personal")
    cfg = mail_settings(settings)
    mailer = MemoryMailer()
    send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
    weekly = period_for("weekly", DAY2)
    with engine.connect() as conn:
        first = set(conn.execute(select(sent_papers.c.paper_id)).scalars())
    # The same subscriber, switched to weekly, gets only the papers not mailed yet.
    from sqlalchemy import update

    from paperfeed.store.database import write_transaction
    with write_transaction(engine) as conn:
        conn.execute(update(subscriptions).values(frequency="weekly"))
    send_digests(engine, cfg, mailer, EMBEDDER, frequency="weekly", day=DAY2)
    with engine.connect() as conn:
        rows = conn.execute(select(digest_sends.c.period, digest_sends.c.paper_ids)).all()
    by_period = {period: set(ids) for period, ids in rows}
    assert by_period["daily:2026-08-13"] == first and first
    assert by_period[weekly.key] and not (by_period[weekly.key] & first)
    empty_day = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1.replace(day=1))
    assert empty_day.skipped == "no new papers in this period" and len(mailer.messages) == 2


def test_server_failing_halfway_4xx_then_recovering(engine, settings):
    add_corpus(engine, day2=False)
    emails = add_many(engine, 12)
    failing = set(range(5, 14))  # DATA attempts 5..13 answer 451
    handler = SinkHandler(
        data_reply=lambda n: "451 4.3.0 try again later" if n in failing else None
    )
    with SmtpSink(handler) as sink:
        cfg = mail_settings(settings, sink.url, smtp_retries=1, smtp_concurrency=1)
        mailer = mailer_from_settings(cfg)
        first = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
        assert first.deferred > 0 and not first.finished
        second = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
        mailer.close()
    assert second.finished and first.sent + second.sent == 12
    got = per_recipient(sink.received)
    assert sorted(got) == emails and all(len(ids) == 1 for ids in got.values())
    assert set(ledger(engine).values()) == {"sent"}


def test_permanent_5xx_recorded_against_the_address_and_pauses(engine, settings):
    add_corpus(engine)
    add_many(engine, 2)
    add_subscriber(engine, "gone@example.org", "protein structure")
    handler = SinkHandler(refuse={"gone@example.org": "550 5.1.1 no such mailbox"})
    with SmtpSink(handler) as sink:
        cfg = mail_settings(settings, sink.url, mail_bounce_limit=2)
        mailer = mailer_from_settings(cfg)
        day1 = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
        day2 = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY2)
        mailer.close()
    assert (day1.bounced, day1.paused, day1.finished) == (1, 0, True)
    assert (day2.bounced, day2.paused) == (1, 1)
    with engine.connect() as conn:
        row = conn.execute(
            select(subscriptions).where(subscriptions.c.email == "gone@example.org")
        ).one()
        errors = conn.execute(
            select(digest_sends.c.error).where(digest_sends.c.email == "gone@example.org")
        ).scalars().all()
    assert row.status == "paused" and row.failures == 2 and "550" in row.last_error
    assert all(e.startswith("550") for e in errors)
    assert "gone@example.org" not in per_recipient(sink.received)


def test_dropped_connection_is_reopened_and_retried(engine, settings):
    add_corpus(engine)
    add_many(engine, 2)
    sink = SmtpSink()
    with sink:
        cfg = mail_settings(settings, sink.url, smtp_concurrency=1)
        mailer = mailer_from_settings(cfg)
        send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
    # The server restarts: the pooled connection is dead and must be replaced.
    with SmtpSink(SinkHandler()) as again:
        again.controller.stop()
        again.port = sink.port
        from aiosmtpd.controller import Controller
        again.controller = Controller(again.handler, hostname="127.0.0.1", port=sink.port)
        again.controller.start()
        report = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY2)
        mailer.close()
    assert report.sent == 2 and len(again.received) == 2


def _sender_env(cfg, sink_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PAPERFEED_SMTP_URL": sink_url, "PAPERFEED_EMBEDDING_BACKEND": "hashing",
        "PAPERFEED_SECRET_KEY": cfg.secret_key, "PAPERFEED_BASE_URL": cfg.base_url,
        "PAPERFEED_MAIL_FROM": cfg.mail_from, "PAPERFEED_SMTP_CONCURRENCY": "2",
        "PAPERFEED_ENVIRONMENT": "test", "PAPERFEED_CACHE_DIR": cfg.cache_dir,
        "PAPERFEED_CONFIG": "/nonexistent.toml",
    })
    env.update(extra)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["resend", "skip"])
def test_kill_9_mid_batch_then_rerun_sends_each_missing_digest_once(engine, settings, policy):
    add_corpus(engine, day2=False)
    emails = add_many(engine, 40)
    proc: dict[str, subprocess.Popen[bytes]] = {}

    def kill_at_15(count: int) -> None:
        if count == 15 and "p" in proc:
            os.kill(proc["p"].pid, signal.SIGKILL)

    handler = SinkHandler(on_message=kill_at_15)
    with SmtpSink(handler) as sink:
        cfg = mail_settings(settings, sink.url, digest_unconfirmed=policy)
        env = _sender_env(cfg, sink.url, PAPERFEED_DIGEST_UNCONFIRMED=policy)
        proc["p"] = subprocess.Popen(
            [sys.executable, "-m", "paperfeed.cli", "digest", "send", "--db", settings.database_url,
             "--date", DAY1.isoformat()], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc["p"].communicate(timeout=120)
        assert proc["p"].returncode == -signal.SIGKILL, (out, err)
        killed_at = len(sink.received)
        statuses = collections.Counter(ledger(engine).values())
        assert 15 <= killed_at < 40 and statuses["sent"] < 40
        mailer = mailer_from_settings(cfg)
        report = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
        mailer.close()
    got = per_recipient(sink.received)
    distinct = {rcpt: set(ids) for rcpt, ids in got.items()}
    # Every duplicate is the very same message (same Message-ID): detectable, and dropped
    # by mailboxes that de-duplicate on it. At most `smtp_concurrency` can be in flight.
    assert all(len(ids) == 1 for ids in distinct.values())
    duplicates = sum(len(ids) - 1 for ids in got.values())
    final = collections.Counter(ledger(engine).values())
    if policy == "resend":
        assert sorted(got) == emails
        assert duplicates <= report.resent <= 2 and final == {"sent": 40}
    else:
        assert duplicates == 0 and final["unknown"] == report.unknown <= 2
        assert final["sent"] + final["unknown"] == 40
        assert len(got) >= 40 - report.unknown
    assert report.finished


@pytest.mark.parametrize("workers", [2])
def test_two_concurrent_senders_never_double_send(engine, settings, workers):
    add_corpus(engine, day2=False)
    emails = add_many(engine, 60)
    with SmtpSink() as sink:
        cfg = mail_settings(settings, sink.url, smtp_concurrency=2)
        reports = []
        barrier = threading.Barrier(workers)

        def run() -> None:
            own_engine = open_engine(settings.database_url)
            mailer = mailer_from_settings(cfg)
            sender = DigestSender(own_engine, cfg, mailer, EMBEDDER, period_for("daily", DAY1),
                                  batch_size=7)
            barrier.wait()
            reports.append(sender.run())
            mailer.close()
            own_engine.dispose()

        threads = [threading.Thread(target=run) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    got = per_recipient(sink.received)
    assert sorted(got) == emails and all(len(ids) == 1 for ids in got.values())
    assert sum(r.sent for r in reports) == 60
    assert all(r.sent > 0 for r in reports), [r.sent for r in reports]


def test_rows_of_a_dead_worker_are_retaken_and_unsubscribed_ones_skipped(engine, settings):
    import socket

    from sqlalchemy import update

    from paperfeed.store import digest_ledger
    from paperfeed.store.database import write_transaction

    add_corpus(engine, day2=False)
    keep = add_subscriber(engine, "keep@example.org", "protein structure")
    left = add_subscriber(engine, "left@example.org", "protein structure")
    dead = f"{socket.gethostname()[:60]}:999999999:deadrun"
    period = period_for("daily", DAY1)
    with write_transaction(engine) as conn:
        digest_ledger.claim_digests(conn, period.key, [(keep, "keep@example.org"),
                                                       (left, "left@example.org")], dead, "x.test")
        conn.execute(
            update(subscriptions).where(subscriptions.c.id == left).values(status="unsubscribed")
        )
        assert not digest_ledger.owner_is_alive(conn, dead)
    mailer = MemoryMailer()
    report = send_digests(engine, mail_settings(settings), mailer, EMBEDDER, day=DAY1)
    assert [m["To"] for m in mailer.messages] == ["keep@example.org"]
    assert report.sent == 1 and report.empty == 1 and report.resent == 0 and report.finished
    assert ledger(engine) == {"keep@example.org": "sent", "left@example.org": "empty"}


def test_each_sent_is_committed_right_after_its_250_and_on_postgres_one_update_is_left(
    engine, settings
):
    """The worker commits a digest's ``sent`` right after the server's 250, one message at
    a time (no batching of confirmations after several sends). On PostgreSQL the papers
    are written before the handoff, so only the ledger row's UPDATE and the COMMIT follow
    the 250: the whole window in which a crash makes the digest go out twice."""
    from sqlalchemy import event

    add_corpus(engine, day2=False)
    add_many(engine, 12)
    log: list[tuple[int, str, str]] = []  # (thread, "sql" | "250" | "commit", statement)

    def on_sql(conn, cursor, statement, parameters, context, executemany) -> None:
        log.append((threading.get_ident(), "sql", " ".join(statement.split())))

    def on_commit(conn) -> None:
        log.append((threading.get_ident(), "commit", ""))

    class Recording:
        def __init__(self, inner) -> None:
            self.inner = inner

        def send(self, message) -> None:
            self.inner.send(message)
            log.append((threading.get_ident(), "250", ""))

        def close(self) -> None:
            self.inner.close()

    event.listen(engine, "before_cursor_execute", on_sql)
    event.listen(engine, "commit", on_commit)
    try:
        with SmtpSink() as sink:
            cfg = mail_settings(settings, sink.url, smtp_concurrency=3)
            mailer = Recording(mailer_from_settings(cfg))
            report = send_digests(engine, cfg, mailer, EMBEDDER, day=DAY1)
            mailer.close()
    finally:
        event.remove(engine, "before_cursor_execute", on_sql)
        event.remove(engine, "commit", on_commit)
    assert report.sent == 12 and len(sink.received) == 12
    by_thread: dict[int, list[tuple[str, str]]] = collections.defaultdict(list)
    for thread, kind, what in log:
        by_thread[thread].append((kind, what))

    def confirms(statement: str) -> bool:
        return statement.startswith("UPDATE digest_sends SET status") and "sent_at" in statement

    def papers(statement: str) -> bool:
        return statement.startswith("INSERT INTO sent_papers")

    checked = 0
    for events in by_thread.values():
        for i, (kind, _) in enumerate(events):
            if kind != "250":
                continue
            after = events[i + 1:]
            commit = next(j for j, (k, _) in enumerate(after) if k == "commit")
            between = after[:commit]
            begun = max((j for j, (k, _) in enumerate(events[:i]) if k == "commit"), default=-1)
            transaction = [w for k, w in events[begun + 1:i] + between if k == "sql"]
            assert not any(k == "250" for k, _ in between)  # no other send before the commit
            assert sum(map(confirms, transaction)) == 1  # this message's own "sent", once
            assert sum(map(papers, transaction)) == 1  # and its papers, in the same commit
            statements = [w for k, w in between if k == "sql"]
            if engine.dialect.name == "postgresql":  # the papers went before the handoff
                assert len(statements) == 1 and confirms(statements[0]), statements
            else:  # SQLite cannot hold its write lock over SMTP: all of it right after
                assert any(map(confirms, statements)) and any(map(papers, statements))
            checked += 1
    assert checked == 12
    assert set(ledger(engine).values()) == {"sent"}
