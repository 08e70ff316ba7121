"""Helpers for the web tests: a site on a small real corpus, logged-in clients.

Fixtures ``site`` (app + engine + outbox on a fresh database with tests/data/web) and
``client`` are imported by the tests/test_web_*.py files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.ingest.bulk import import_file
from paperfeed.store.database import write_transaction
from paperfeed.store.users import User, create_user
from paperfeed.web.account_mail import RecordedAccountMail

CORPUS = Path(__file__).parent / "data" / "web" / "papers.jsonl"
TODAY = "2025-03-20"
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    app: FastAPI
    engine: Engine
    outbox: RecordedAccountMail
    settings: Settings


def build_site(settings: Settings, engine: Engine) -> Site:
    import_file(engine, CORPUS, background=False)
    settings = settings.model_copy(update={"embedding_backend": "hashing"})
    outbox = RecordedAccountMail()
    app = create_app(settings, send_mail=outbox)
    return Site(app, engine, outbox, settings)


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[Site]:
    s = build_site(settings, engine)
    yield s
    s.app.state.engine.dispose()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """Visit ``path`` (which sets the CSRF cookie) and read the token from its form."""
    page = client.get(path)
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def make_user(site: Site, name: str = "alice", *, admin: bool = False,
              verified: bool = True) -> User:
    with write_transaction(site.engine) as conn:
        return create_user(conn, username=name, email=f"{name}@example.org",
                           password=PASSWORD, is_admin=admin, verified=verified)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"email": email, "password": password,
                                            "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert "pf_session" in client.cookies


def post(client: TestClient, path: str, data: dict[str, str] | None = None, *,
         page: str = "/login", **kwargs: object):  # type: ignore[no-untyped-def]
    """POST a form with a valid CSRF token taken from ``page``."""
    token = csrf_of(client, page) if page else ""
    return client.post(path, data={"csrf_token": token, **(data or {})},
                       follow_redirects=False, **kwargs)  # type: ignore[arg-type]
