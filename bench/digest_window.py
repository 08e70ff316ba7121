"""How long a sent digest stays unconfirmed: the time from the SMTP server's ``250`` to the
commit that records it as sent, per message, on PostgreSQL.

    python -m bench.digest_window --subscribers 400               # this checkout's code
    PYTHONPATH=../other python -m bench.digest_window ...         # another checkout's

A crash (SIGKILL) inside that window is what makes a digest go out twice
(``digest_unconfirmed = "resend"``, same Message-ID) or end ``unknown`` (``"skip"``).
The sink (aiosmtpd on 127.0.0.1) notes when it answers each DATA with 250; PostgreSQL notes
when each transaction commits (``track_commit_timestamp``: the scale rehearsal's server in
--root has it on). Printed: the window per message (p50 / p90 / max) and, by Little's law,
how many messages are inside it at a random instant of the run (= how many a SIGKILL at a
random moment doubles on average).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path

import psycopg
from sqlalchemy import text

from bench.scale_rehearsal import ROOT, database
from paperfeed.config import load_settings
from paperfeed.index.embedder import HashingEmbedder
from paperfeed.mail.delivery import send_digests
from paperfeed.mail.mailer import mailer_from_settings
from paperfeed.store.database import open_engine, write_transaction
from paperfeed.store.migrate import upgrade_database
from paperfeed.store.subscriptions import Preferences, upsert_subscription
from tests.mail_corpus import DAY1, add_corpus, mail_settings
from tests.smtp_sink import SmtpSink

TOPICS = ["long context attention", "protein structure", "speech recognition",
          "vision transformers", "graph neural networks molecules"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--subscribers", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4, help="smtp_concurrency")
    args = parser.parse_args()
    server, url = database(args.root)
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS digest_window")
        conn.execute("CREATE DATABASE digest_window")
    url = url.replace("/paperfeed?", "/digest_window?")
    engine = open_engine(url)
    upgrade_database(engine)
    add_corpus(engine, day2=False)
    with write_transaction(engine) as conn:
        for i in range(args.subscribers):
            upsert_subscription(conn, f"reader{i:04d}@example.org",
                                Preferences(interests=[TOPICS[i % len(TOPICS)]]),
                                confirmed=True, source="cli")
    base = load_settings(environment="test", database_url=url, base_url="http://testserver",
                         secret_key="digest-window-secret-" + "x" * 32,
                         cache_dir=str(args.root / "cache-window"))
    with SmtpSink() as sink:
        sink.handler.parse = False
        cfg = mail_settings(base, sink.url, smtp_concurrency=args.concurrency)
        mailer = mailer_from_settings(cfg)
        began = time.time()
        report = send_digests(engine, cfg, mailer, HashingEmbedder(), day=DAY1)
        wall = time.time() - began
        mailer.close()
        accepted = {r.data.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode():
                    r.accepted_at for r in sink.received}
    with engine.connect() as conn:
        if conn.exec_driver_sql("SHOW track_commit_timestamp").scalar() != "on":
            raise SystemExit("track_commit_timestamp is off")
        rows = conn.execute(text(
            "SELECT message_id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) "
            "FROM digest_sends WHERE status = 'sent'")).all()
    engine.dispose()
    ms = sorted((float(ts) - accepted[mid]) * 1000 for mid, ts in rows if mid in accepted)
    q = statistics.quantiles(ms, n=10)
    print(f"{dt.datetime.now(dt.UTC):%H:%M} UTC, load average {os.getloadavg()}")
    print(f"{report.sent} digests in {wall:.2f} s ({report.sent / wall:.0f}/s), "
          f"smtp_concurrency {args.concurrency}")
    print(f"250 -> commit: p50 {statistics.median(ms):.2f} ms, p90 {q[-1]:.2f} ms, "
          f"max {ms[-1]:.2f} ms; messages inside the window at a random instant: "
          f"{sum(ms) / 1000 / wall:.2f}")


if __name__ == "__main__":
    main()
