"""Team channels on the web (/settings/channels): a user manages only their own channels,
URLs are shown redacted only, the SSRF guard refuses non-public hosts when a channel is
connected and again before it posts, the per-user cap, and CSRF on every form."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperfeed.store.channel_schema import channels
from paperfeed.store.channels import MAX_USER_CHANNELS, add_channel, list_channels
from paperfeed.store.collections import create_collection
from paperfeed.store.database import write_transaction

from .factories import Site, log_in, make_user, post
from .test_channels import DAY, SECRET_PATH, Sink, cli

PAGE = "/settings/channels"
SLACK = "https://hooks.slack.com" + SECRET_PATH
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def sink() -> Any:
    s = Sink()
    yield s
    s.close()


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    """Resolve the names in ``answers`` to the given address, IP literals as usual;
    anything else fails (tests never reach the network)."""
    def resolve(host: str, port: Any, *args: Any, **kw: Any) -> Any:
        if host in answers:
            return REAL_GETADDRINFO(answers[host], port, *args, **kw)
        try:
            return REAL_GETADDRINFO(host, port, *args, **(kw | {"flags": socket.AI_NUMERICHOST}))
        except socket.gaierror:
            raise socket.gaierror("no network in tests") from None
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def connect(client: TestClient, url: str, **extra: str) -> Any:
    return post(client, PAGE, {"kind": "slack", "url": url, **extra}, page=PAGE)


def count(site: Site) -> int:
    with site.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(channels)).scalar_one())


def test_user_connects_a_slack_channel_and_sees_it_only_redacted(
        site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    fake_dns(monkeypatch, {"hooks.slack.com": "8.8.8.8"})
    caplog.set_level(logging.DEBUG)
    alice = make_user(site, "alice")
    log_in(client, "alice@example.org")
    done = connect(client, SLACK, feed="category", argument="cs.CV", limit="5")
    assert done.status_code == 303 and done.headers["location"] == f"{PAGE}?m=channel-added"
    page = client.get(PAGE).text
    assert "https://hooks.slack.com/serv…" in page and "cs.CV" in page
    assert "T0SECRET" not in page and "XXXXXXXX" not in page
    assert "T0SECRET" not in caplog.text
    with site.engine.connect() as conn:
        (mine,) = list_channels(conn)
    assert (mine.owner_id, mine.url, mine.feed, mine.max_papers) == (alice.id, SLACK,
                                                                      "category", 5)


def test_webhook_secret_is_shown_once(site: Site, client: TestClient,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.example.org": "8.8.8.8"})
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    done = post(client, PAGE, {"kind": "webhook", "url": "https://hooks.example.org/in/abc"},
                page=PAGE)
    with site.engine.connect() as conn:
        (hook,) = list_channels(conn)
    assert done.status_code == 200 and hook.secret and hook.secret in done.text
    assert hook.secret not in client.get(PAGE).text


def test_users_see_and_manage_only_their_own_channels_admins_all(
        site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.slack.com": "8.8.8.8"})
    make_user(site, "alice")
    bob = make_user(site, "bob")
    make_user(site, "root", admin=True)
    with write_transaction(site.engine) as conn:
        theirs = add_channel(conn, kind="discord", url="https://hooks.slack.com/api/bobhook",
                             feed="daily", owner_id=bob.id)
    log_in(client, "alice@example.org")
    assert 'id="channel-' not in client.get(PAGE).text
    for action in ("remove", "pause", "resume"):
        refused = post(client, f"{PAGE}/{theirs.id}/{action}", page=PAGE)
        assert refused.status_code == 404, action
    assert count(site) == 1
    client.cookies.clear()
    log_in(client, "root@example.org")
    page = client.get(PAGE).text
    assert f'id="channel-{theirs.id}"' in page and "owner: bob" in page
    assert "bobhook" not in page
    assert post(client, f"{PAGE}/{theirs.id}/pause", page=PAGE).status_code == 303
    with site.engine.connect() as conn:
        assert list_channels(conn)[0].paused
    assert post(client, f"{PAGE}/{theirs.id}/resume", page=PAGE).status_code == 303
    with site.engine.connect() as conn:
        assert not list_channels(conn)[0].paused
    assert post(client, f"{PAGE}/{theirs.id}/remove", page=PAGE).status_code == 303
    assert count(site) == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://10.0.0.1/hook",
                                 "http://[::1]/hook", "http://internal.example.org/hook",
                                 "http://169.254.169.254/latest", "file:///etc/passwd",
                                 "https://nowhere.invalid/x"])
def test_non_public_urls_are_refused_with_a_message_and_no_row(
        site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    fake_dns(monkeypatch, {"internal.example.org": "127.0.0.1"})
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    refused = connect(client, url)
    assert refused.status_code == 400
    assert re.search(r"non-public address|http\(s\) URL with a host|cannot be resolved",
                     refused.text)
    assert count(site) == 0


def test_collection_feed_follows_only_your_own_collection(
        site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.slack.com": "8.8.8.8"})
    alice, bob = make_user(site, "alice"), make_user(site, "bob")
    with write_transaction(site.engine) as conn:
        public = create_collection(conn, bob.id, "Bob's", is_public=True)
        mine = create_collection(conn, alice.id, "Mine")
    log_in(client, "alice@example.org")
    refused = connect(client, SLACK, feed="collection", collection=str(public))
    assert refused.status_code == 400 and "your own collection" in refused.text
    assert connect(client, SLACK, feed="collection", collection=str(mine)).status_code == 303
    with site.engine.connect() as conn:
        assert [c.feed_arg for c in list_channels(conn)] == [str(mine)]


def test_cap_and_csrf(site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.slack.com": "8.8.8.8"})
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    missing = client.post(PAGE, data={"kind": "slack", "url": SLACK}, follow_redirects=False)
    forged = client.post(PAGE, data={"kind": "slack", "url": SLACK, "csrf_token": "f" * 40},
                         follow_redirects=False)
    assert missing.status_code == 403 and forged.status_code == 403 and count(site) == 0
    for n in range(MAX_USER_CHANNELS):
        assert connect(client, f"{SLACK}{n}").status_code == 303
    over = connect(client, SLACK + "x")
    assert over.status_code == 400 and "remove one first" in over.text
    assert count(site) == MAX_USER_CHANNELS
    with site.engine.connect() as conn:
        ids = [c.id for c in list_channels(conn)]
    assert client.post(f"{PAGE}/{ids[0]}/remove", follow_redirects=False).status_code == 403
    assert count(site) == MAX_USER_CHANNELS


def test_send_posts_a_users_channel_but_rechecks_dns_before_posting(
        site: Site, client: TestClient, sink: Sink, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The positive half patches the guard (the sink is on 127.0.0.1, which a user may not
    target); the negative half keeps the real guard and lets DNS change after connecting."""
    caplog.set_level(logging.INFO)
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    monkeypatch.setattr("paperfeed.store.channels.public_url_problem", lambda url: None)
    monkeypatch.setattr("paperfeed.mail.channels.public_url_problem", lambda url: None)
    assert connect(client, sink.url(SECRET_PATH)).status_code == 303
    code, out = cli(site.settings, "channels", "send", "--date", DAY.isoformat())
    assert code == 0 and "1 posted" in out and sink.count(SECRET_PATH) == 1
    assert "HTTP Request" in caplog.text and "T0SECRET" not in caplog.text
    monkeypatch.undo()
    fake_dns(monkeypatch, {"hooks.rebind.example": "8.8.8.8"})
    port = sink.httpd.server_address[1]
    assert connect(client, f"http://hooks.rebind.example:{port}/rebound").status_code == 303
    fake_dns(monkeypatch, {"hooks.rebind.example": "127.0.0.1"})
    code, out = cli(site.settings, "channels", "send", "--date", DAY.isoformat())
    assert code == 1 and "1 failed" in out and sink.count("/rebound") == 0
    with site.engine.connect() as conn:
        rebound = list_channels(conn)[-1]
    assert rebound.paused and "non-public address" in rebound.last_error
    assert "non-public address" in client.get(PAGE).text
