"""Issue 11 item 3: no public secret.

The development key is in the source, so anyone can sign links with it. An instance where
no key is configured must not accept them: it generates its own key (0600, said once)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import Engine

from paperfeed.config import DEV_SECRET, Settings, load_settings
from paperfeed.mail.tokens import unsubscribe_token
from paperfeed.store.database import write_transaction
from paperfeed.store.subscriptions import Preferences, get_subscription, upsert_subscription
from paperfeed.store.users import password_fingerprint
from paperfeed.web.feeds.personal import personal_feed_path
from paperfeed.web.security import SignedLinks

from ..factories import Site, build_site, make_user


def unconfigured(settings: Settings, data_dir: Path) -> Settings:
    """The test database's settings as an operator who set no secret key would have them."""
    return load_settings(environment="development", database_url=settings.database_url,
                         base_url="http://testserver", cache_dir=str(data_dir))


def test_no_key_configured_means_a_random_private_key_said_once(
        settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        first = unconfigured(settings, tmp_path / "a").secret_key
        again = unconfigured(settings, tmp_path / "a").secret_key
    other = unconfigured(settings, tmp_path / "b").secret_key
    assert first != DEV_SECRET and len(first) >= 32
    assert again == first and other != first  # per install, stable across processes
    key_file = tmp_path / "a" / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    said = [r for r in caplog.records if "secret_key" in r.getMessage()
            and str(tmp_path / "a") in r.getMessage()]
    assert len(said) == 1


@pytest.fixture
def fresh_install(settings: Settings, corpus: Engine, tmp_path: Path) -> Iterator[Site]:
    site = build_site(unconfigured(settings, tmp_path / "data"), corpus)
    yield site
    site.app.state.engine.dispose()


def test_links_signed_with_the_development_key_are_refused(fresh_install: Site) -> None:
    site = fresh_install
    forger = site.settings.model_copy(update={"secret_key": DEV_SECRET})
    user = make_user(site, "victim", verified=False)
    with write_transaction(site.engine) as conn:
        sub, _ = upsert_subscription(conn, "victim@example.org", Preferences(), confirmed=True)
    client = TestClient(site.app)
    unsub = URLSafeSerializer(forger.secret_key, salt="paperfeed.mail.unsubscribe").dumps(sub.id)
    assert client.post(f"/unsubscribe/{unsub}").status_code == 400
    assert client.get(f"/subscription/{unsub}").status_code == 400  # manage page
    with site.engine.connect() as conn:
        still = get_subscription(conn, sub.id)
    assert still is not None and still.status == "active"
    with site.engine.connect() as conn:
        fingerprint = password_fingerprint(conn, user.id)
    verify = SignedLinks(DEV_SECRET).verify_token(user.id, user.email, fingerprint)
    response = client.get(f"/verify/{verify}", follow_redirects=False)
    assert response.status_code == 400 and "pf_session" not in client.cookies
    feed = personal_feed_path(DEV_SECRET, user.id, user.username)
    assert client.get(feed).status_code == 404
    # the instance's own links work
    own = unsubscribe_token(site.settings, sub.id, sub.email)
    assert client.get(f"/subscription/{own}").status_code == 200


def test_serve_uses_the_development_key_only_on_loopback(
        monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> None:
    import uvicorn

    from paperfeed.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.setenv("PAPERFEED_SECRET_KEY", DEV_SECRET)
    monkeypatch.setenv("PAPERFEED_ENVIRONMENT", "development")
    monkeypatch.setenv("PAPERFEED_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PAPERFEED_TRUSTED_PROXIES", "")
    args: list[Any] = ["serve", "--db", settings.database_url]
    assert CliRunner().invoke(main, [*args, "--host", "127.0.0.1"]).exit_code == 0
    assert os.environ["PAPERFEED_SECRET_KEY"] == DEV_SECRET  # loopback: allowed
    result = CliRunner().invoke(main, [*args, "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    # the server processes read their settings from the environment: no public key there
    assert load_settings().secret_key not in ("", DEV_SECRET)
    assert (tmp_path / "secret_key").exists()
