"""Issue 11 item 12: durability and secrets at rest.

The database password never reaches a cache file; a live digest sender's claims stay
fresh (nobody retakes and resends a long batch); mail-ledger commits are fsynced on SQLite;
upstream XML never expands entities and upstream bodies are size-capped; HSTS with an https
base URL, CSP on /docs, no-store on settings pages."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from paperfeed.config import Settings
from paperfeed.index import terms
from paperfeed.index.embedder import HashingEmbedder
from paperfeed.ingest.documents import InvalidDocument, parse_document
from paperfeed.ingest.upstream import Upstream, UpstreamError
from paperfeed.mail.delivery import DigestSender
from paperfeed.mail.digest import period_for
from paperfeed.store import digest_ledger
from paperfeed.store.database import open_engine

from ..factories import build_site, log_in, make_user
from ..mail_corpus import DAY1, add_corpus, add_subscriber, mail_settings

PASSWORD = "s3cret-Pw-that-must-stay-in-memory"


def test_the_database_password_never_reaches_a_cache_file(
        settings: Settings, engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("an SQLite URL holds no password (SQLAlchemy drops it)")
    add_corpus(engine)
    url = make_url(settings.database_url).set(password=PASSWORD)  # trust auth ignores it
    secret_engine = open_engine(url.render_as_string(hide_password=False))
    terms.use_cache_dir(secret_engine, tmp_path)
    try:
        with secret_engine.connect() as conn:
            assert terms.term_index(conn).ids.size > 0
    finally:
        terms.use_cache_dir(secret_engine, None)
        secret_engine.dispose()
    saved = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert saved, "the BM25 copy was saved"
    for path in saved:
        assert PASSWORD.encode() not in path.read_bytes(), path


class BlockingMailer:
    """Holds the first message 'on the wire' until released."""

    def __init__(self) -> None:
        self.sending = threading.Event()
        self.release = threading.Event()
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sending.set()
        assert self.release.wait(30)
        self.sent.append(message)

    def close(self) -> None:
        pass


def test_a_live_senders_claims_stay_fresh_and_ledger_commits_are_fsynced(
        engine: Engine, settings: Settings) -> None:
    add_corpus(engine)
    add_subscriber(engine, "reader@example.org", "vision transformers")
    cfg = mail_settings(settings)
    mailer = BlockingMailer()
    period = period_for("daily", DAY1)
    sender = DigestSender(engine, cfg, mailer, HashingEmbedder(), period)  # type: ignore[arg-type]
    sender.heartbeat_seconds = 0.2
    levels: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _level(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if engine.dialect.name == "sqlite" and statement.startswith("UPDATE digest_sends"):
            levels.append(cursor.connection.execute("PRAGMA synchronous").fetchone()[0])

    worker = threading.Thread(target=sender.run)
    worker.start()
    try:
        assert mailer.sending.wait(60), "the sender never reached SMTP"
        time.sleep(1.5)  # the batch is 'on the wire' for longer than the claim timeout
        with engine.connect() as conn:
            stale = digest_ledger.stale_rows(conn, period.key, me="another-worker",
                                             timeout=dt.timedelta(seconds=1))
        assert stale == []  # nobody may retake (and resend) what is being sent
    finally:
        mailer.release.set()
        worker.join(60)
    event.remove(engine, "before_cursor_execute", _level)
    assert len(mailer.sent) == 1
    if engine.dialect.name == "sqlite":
        assert levels and set(levels) == {2}  # synchronous=FULL for every ledger commit


def test_upstream_xml_never_expands_entities() -> None:
    padding = b"<!--" + b"x" * 8000 + b"-->"  # pushes the DOCTYPE past any prefix check
    body = (b'<?xml version="1.0"?>' + padding +
            b'<!DOCTYPE feed [<!ENTITY injected "EXPANDED">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&injected;</title>'
            b'</entry></feed>')
    with pytest.raises(InvalidDocument):
        parse_document(body, "{http://www.w3.org/2005/Atom}entry")


def test_upstream_bodies_are_size_capped() -> None:
    big = b"<feed>" + b"a" * (3 * 1024 * 1024) + b"</feed>"

    def chunked(request: httpx.Request) -> httpx.Response:  # no Content-Length
        return httpx.Response(200, content=iter([big[i:i + 65536]
                                                 for i in range(0, len(big), 65536)]))

    for handler in (lambda request: httpx.Response(200, content=big), chunked):
        client = Upstream(user_agent="test", delay_seconds=0, retries=0,
                          transport=httpx.MockTransport(handler),
                          max_bytes=1024 * 1024)  # type: ignore[call-arg]
        with client, pytest.raises(UpstreamError, match="larger than"):
            client.get("https://upstream.test/feed")


def test_hsts_csp_on_docs_and_no_store_settings(settings: Settings, corpus: Engine) -> None:
    secure = build_site(settings, corpus, base_url="https://papers.example")
    plain = build_site(settings, corpus)
    try:
        with TestClient(secure.app, base_url="https://testserver") as https_client:
            assert "max-age=" in https_client.get("/").headers["strict-transport-security"]
        with TestClient(plain.app) as http_client:
            assert "strict-transport-security" not in http_client.get("/").headers
            docs = http_client.get("/docs")
            assert docs.status_code == 200
            assert "script-src 'self'" in docs.headers["content-security-policy"]
            make_user(plain, "carol")
            log_in(http_client, "carol@example.org")
            page = http_client.get("/settings")
            assert page.status_code == 200
            assert page.headers["cache-control"] == "no-store"
    finally:
        secure.app.state.engine.dispose()
        plain.app.state.engine.dispose()
