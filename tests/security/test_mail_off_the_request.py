"""Issue 11 item 2: mail never blocks a request or the event loop.

A real SMTP "server" on 127.0.0.1 accepts connections and never says a word (a relay that
hangs). With the site served by uvicorn (its lifespan starts the background sender), a
POST /subscribe answers at once, the confirmation waits in the outbox while the sender is
stuck on the relay, and page requests made meanwhile keep their normal latency.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select

from paperfeed.config import Settings
from paperfeed.store.mail_schema import mail_outbox

from ..factories import build_site, csrf_of, served

SMTP_TIMEOUT = 10.0  # what an inline send would make the request wait, at least


class SilentSmtpServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (no 220 greeting)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)  # held open, silent

    def close(self) -> None:
        """Hang up on every client (they see the connection drop) and stop listening."""
        self._stop.set()
        self._thread.join(5)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_smtp() -> Iterator[SilentSmtpServer]:
    server = SilentSmtpServer()
    yield server
    server.close()


def timed_get(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    assert response.status_code == 200
    return time.perf_counter() - start


def test_subscribe_answers_at_once_and_pages_stay_fast_while_smtp_hangs(
    settings: Settings, corpus: Engine, silent_smtp: SilentSmtpServer
) -> None:
    site = build_site(settings, corpus, smtp_url=f"smtp://127.0.0.1:{silent_smtp.port}",
                      smtp_timeout_seconds=SMTP_TIMEOUT, smtp_retries=0)
    try:
        with served(site.app, lifespan=True) as base, \
                httpx.Client(base_url=base, timeout=60) as reader, \
                httpx.Client(base_url=base, timeout=60) as writer:
            for _ in range(3):
                timed_get(reader, "/")  # warm: the page cache, the data version
            normal = statistics.median(timed_get(reader, "/") for _ in range(5))
            token = csrf_of(writer, "/subscribe")  # type: ignore[arg-type]

            answered: dict[str, float] = {}

            def subscribe() -> None:
                start = time.perf_counter()
                response = writer.post("/subscribe", data={"csrf_token": token,
                                                           "email": "reader@example.org"})
                assert response.status_code == 200 and "Check your inbox" in response.text
                answered["seconds"] = time.perf_counter() - start

            post = threading.Thread(target=subscribe)
            post.start()
            during: list[float] = []
            deadline = time.monotonic() + 3.0  # the POST and ~2 s of a hung relay after it
            while time.monotonic() < deadline:
                during.append(timed_get(reader, "/"))
            post.join(SMTP_TIMEOUT * 3)

            assert answered, "POST /subscribe did not answer"
            assert answered["seconds"] < 2.0, answered
            # The confirmation went to the sender, which is now stuck on the silent relay.
            deadline = time.monotonic() + 10
            while not silent_smtp.connections:
                assert time.monotonic() < deadline, "the background sender never reached SMTP"
                time.sleep(0.05)
            with corpus.connect() as conn:
                queued = conn.execute(select(mail_outbox)).one()
            assert queued.name == "confirm_subscription" and queued.sent_at is None
            # Pages served meanwhile kept their normal latency (an event loop blocked by
            # SMTP would hold every one of them for SMTP_TIMEOUT seconds).
            assert len(during) >= 5
            assert max(during) < max(1.0, 20 * normal), (normal, during)
            silent_smtp.close()  # the relay hangs up: the sender records a retry and idles
    finally:
        site.app.state.engine.dispose()
