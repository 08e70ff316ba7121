"""Team channels: native payloads, and exactly one post per channel and day through
re-runs, SIGKILL mid-run, 5xx retries and 4xx pauses, against a local HTTP sink."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from paperfeed.cli import main
from paperfeed.config import Settings
from paperfeed.ingest.bulk import import_file
from paperfeed.mail.channel_formats import (
    Post,
    PostItem,
    discord_payload,
    sign,
    slack_payload,
)
from paperfeed.mail.channels import post_channels
from paperfeed.store.channel_schema import channel_posts
from paperfeed.store.channels import add_channel, list_channels, redact_url
from paperfeed.store.database import write_transaction

CORPUS = Path(__file__).parent / "data" / "web" / "papers.jsonl"
DAY = dt.date(2025, 3, 20)
SECRET_PATH = "/services/T0SECRET/B0SECRET/XXXXXXXXXXXXXXXXXXXXXXXX"


class Sink:
    """An HTTP server on 127.0.0.1 recording every POST body per path; ``script[path]`` is
    a list of statuses answered in turn (the last repeats), ``delay[path]`` seconds to wait
    before answering (after the body was received and recorded)."""

    def __init__(self) -> None:
        self.received: dict[str, list[bytes]] = {}
        self.headers: dict[str, list[dict[str, str]]] = {}
        self.script: dict[str, list[int]] = {}
        self.delay: dict[str, float] = {}
        self.got_request = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                statuses = sink.script.get(self.path, [200])
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                if status < 300:  # what a platform does: only accepted posts show up
                    sink.received.setdefault(self.path, []).append(body)
                sink.headers.setdefault(self.path, []).append(dict(self.headers))
                sink.got_request.set()
                time.sleep(sink.delay.get(self.path, 0.0))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no_service")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def count(self, path: str) -> int:
        return len(self.received.get(path, []))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def corpus(engine: Engine) -> Engine:
    import_file(engine, CORPUS, background=False)
    return engine


def add(engine: Engine, kind: str, url: str, **kw: object) -> int:
    with write_transaction(engine) as conn:
        return add_channel(conn, kind=kind, url=url, feed=str(kw.pop("feed", "daily")),
                           **kw).id  # type: ignore[arg-type]


def statuses(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {r.channel_id: r.status for r in conn.execute(select(channel_posts))}


def settings_env(settings: Settings) -> dict[str, str]:
    return {"PAPERFEED_ENVIRONMENT": "test", "PAPERFEED_CONFIG": "/nonexistent.toml",
            "PAPERFEED_SECRET_KEY": settings.secret_key, "PAPERFEED_BASE_URL": settings.base_url,
            "PAPERFEED_CACHE_DIR": settings.cache_dir}


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [args[0], args[1], "--db", settings.database_url,
                                       *args[2:]], catch_exceptions=False,
                                env=settings_env(settings))
    return result.exit_code, result.output


def _item(title: str, n: int = 1) -> PostItem:
    return PostItem(f"2503.0000{n}", title, f"http://testserver/papers/2503.0000{n}",
                    ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"), 7)


def test_slack_payload_uses_blocks_and_escapes_control_characters() -> None:
    payload = slack_payload(Post("Papers of 2025-03-20", "http://testserver/",
                                 (_item("<!channel> & <script>x</script>"),)))
    blocks = payload["blocks"]
    assert isinstance(blocks, list) and blocks[0]["type"] == "header"
    text = blocks[1]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;script&gt;" in text
    assert "<http://testserver/papers/2503.00001|" in text and "et al." in text
    assert "▲ 7" in text


def test_discord_payload_caps_embeds_and_disables_mentions() -> None:
    items = tuple(_item(f"Paper @everyone {n}", n) for n in range(15))
    payload = discord_payload(Post("Day", "http://testserver/", items))
    assert len(payload["embeds"]) == 10  # type: ignore[arg-type]
    assert payload["allowed_mentions"] == {"parse": []}


def test_send_twice_posts_one_message_per_channel(corpus, settings, sink) -> None:
    add(corpus, "slack", sink.url("/slack"))
    hook = add(corpus, "webhook", sink.url("/hook"), category="cs.CV", max_papers=3)
    for _ in range(2):
        code, out = cli(settings, "channels", "send", "--date", DAY.isoformat())
        assert code == 0, out
    assert sink.count("/slack") == 1 and sink.count("/hook") == 1
    slack = json.loads(sink.received["/slack"][0])
    assert slack["blocks"][0]["text"]["text"] == "Papers of 2025-03-20"
    body = sink.received["/hook"][0]
    papers = json.loads(body)["papers"]
    assert 1 <= len(papers) <= 3 and all(p["url"].startswith("http://testserver/papers/")
                                         for p in papers)
    # The signature verifies with the secret the channel was given.
    headers = sink.headers["/hook"][0]
    with corpus.connect() as conn:
        secret = next(c.secret for c in list_channels(conn) if c.id == hook)
    expected = "sha256=" + hmac.new(secret.encode(),
                                    headers["X-Paperfeed-Timestamp"].encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Paperfeed-Signature"], expected)
    assert sign(secret, headers["X-Paperfeed-Timestamp"], body) == expected


def test_five_hundred_twice_then_ok_gives_one_message(corpus, settings, sink) -> None:
    add(corpus, "discord", sink.url("/discord"))
    sink.script["/discord"] = [500, 502, 200]
    report = post_channels(corpus, settings, DAY, backoff_seconds=0.01)
    assert sink.count("/discord") == 1 and len(sink.headers["/discord"]) == 3
    assert len(report.sent) == 1 and set(statuses(corpus).values()) == {"sent"}
    again = post_channels(corpus, settings, DAY, backoff_seconds=0.01)
    assert again.skipped and sink.count("/discord") == 1


def test_persistent_5xx_is_deferred_and_retried_next_run(corpus, settings, sink) -> None:
    add(corpus, "mattermost", sink.url("/mm"))
    sink.script["/mm"] = [503]
    report = post_channels(corpus, settings, DAY, retries=2, backoff_seconds=0.01)
    assert report.deferred and sink.count("/mm") == 0
    sink.script["/mm"] = [200]
    report = post_channels(corpus, settings, DAY, retries=2, backoff_seconds=0.01)
    assert report.sent and sink.count("/mm") == 1


def test_4xx_pauses_the_channel_and_never_shows_the_url(corpus, settings, sink) -> None:
    add(corpus, "slack", sink.url(SECRET_PATH))
    sink.script[SECRET_PATH] = [404]
    code, out = cli(settings, "channels", "send", "--date", DAY.isoformat(), "--backoff", "0")
    assert code == 1 and len(sink.headers[SECRET_PATH]) == 1  # a 4xx is not retried
    code, listing = cli(settings, "channels", "list")
    assert "paused" in listing and "404" in listing
    for text in (out, listing):
        assert "B0SECRET" not in text and "XXXXXXXX" not in text
    # A paused channel is not posted to until resumed.
    sink.script[SECRET_PATH] = [200]
    assert cli(settings, "channels", "send", "--date", DAY.isoformat())[0] == 0
    assert len(sink.headers[SECRET_PATH]) == 1
    assert cli(settings, "channels", "resume", "1")[0] == 0
    with corpus.connect() as conn:
        assert not list_channels(conn)[0].paused


def test_a_day_without_papers_posts_nothing(corpus, settings, sink) -> None:
    add(corpus, "slack", sink.url("/slack"))
    report = post_channels(corpus, settings, dt.date(2024, 1, 1))
    assert report.empty and sink.count("/slack") == 0


def test_add_refuses_bad_input_with_a_clear_error(corpus, settings) -> None:
    code, out = cli(settings, "channels", "add", "--kind", "slack", "--url", "javascript:x")
    assert code == 1 and "http(s)" in out
    code, out = cli(settings, "channels", "add", "--kind", "webhook", "--url",
                    "https://example.org/hook", "--feed", "search")
    assert code == 1 and "needs its argument" in out
    code, out = cli(settings, "channels", "add", "--kind", "webhook", "--url",
                    "https://example.org/hook/abcdef", "--feed", "search", "--query", "diffusion")
    assert code == 0 and "signing secret" in out and "abcdef" not in out


def test_redacted_urls_keep_only_host_and_a_prefix() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B0/XYZ") == \
        "https://hooks.slack.com/serv…"


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_posts_exactly_once(corpus, settings, sink) -> None:
    for name in ("a", "b", "c"):
        add(corpus, "slack", sink.url(f"/{name}"))
    sink.delay["/b"] = 60.0  # the sender waits on /b's answer: kill it there
    env = dict(os.environ, **settings_env(settings))
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "channels", "send", "--db",
         settings.database_url, "--date", DAY.isoformat()],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while sink.count("/b") == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert (sink.count("/a"), sink.count("/b"), sink.count("/c")) == (1, 1, 0)
    sink.delay["/b"] = 0.0
    post_channels(corpus, settings, DAY, backoff_seconds=0.01)
    post_channels(corpus, settings, DAY, backoff_seconds=0.01)
    assert (sink.count("/a"), sink.count("/b"), sink.count("/c")) == (1, 1, 1)
    assert sorted(statuses(corpus).values()) == ["sent", "sent", "unknown"]
