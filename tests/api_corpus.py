"""Fixtures for the API and feed tests: 25 real arXiv papers (5 listing days of March 2025,
from the shared corpus) plus one hand-made paper whose text is full of things that must be
escaped (LaTeX, ``&``, ``<script>``), a user with an API token, and the app under test.

Imported by tests/test_api_*.py and tests/test_feeds_*.py (``from .api_corpus import *``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from paperfeed.config import Settings
from paperfeed.index.embedder import HashingEmbedder
from paperfeed.index.vectors import index_missing
from paperfeed.ingest.records import paper_from_json
from paperfeed.models import Author, Link, Paper, Version
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers
from paperfeed.store.tokens import create_token
from paperfeed.store.users import create_user

PAPERS_FILE = Path(__file__).parent / "data" / "api" / "papers.jsonl"
NEWEST_DAY = dt.date(2025, 3, 24)
TRICKY_ID = "2503.99999"
TRICKY_TITLE = "Escaping <script>alert(1)</script> & $\\alpha < \\beta$ in R&D"
TRICKY_ABSTRACT = (
    "We bound $\\|x\\|_2 < \\epsilon$ & show that <b>tags</b> stay text; "
    "see \\cite{a} and \\textbf{bold} ]]> \u00e9t\u00e9 \u2014 \U0001d4b3."
)


def tricky_paper() -> Paper:
    """A paper whose every text field needs escaping somewhere."""
    return Paper(
        arxiv_id=TRICKY_ID,
        title=TRICKY_TITLE,
        abstract=TRICKY_ABSTRACT,
        authors=[Author("Zoë O'Brien & Co", "ETH <Zürich>"), Author("Ada Lovelace")],
        categories=["cs.CL", "cs.LG"],
        primary_category="cs.CL",
        comments="12 pages & 3 <figures>",
        submitted_at=dt.datetime(2025, 3, 21, 17, 0, tzinfo=dt.UTC),
        announced_on=NEWEST_DAY,
        versions=[Version(1, dt.datetime(2025, 3, 21, 17, 0, tzinfo=dt.UTC))],
        links=[
            Link("https://github.com/example/tricky", "code"),
            Link("https://example.org/tricky?a=1&b=2", "project"),
        ],
        source="arxiv-api",
    )


def load_corpus(engine: Engine) -> None:
    """Import the 25 real papers and the tricky one, and index them with the hashing
    embedder (the tiny deterministic stand-in the API tests run with)."""
    real = [paper_from_json(json.loads(line)) for line in PAPERS_FILE.read_text().splitlines()]
    with write_transaction(engine) as conn:
        upsert_papers(conn, [*real, tricky_paper()])
    index_missing(engine, HashingEmbedder())


def set_upvotes(engine: Engine, counts: dict[str, int]) -> None:
    """Give papers vote counts directly (the vote API is tested on its own)."""
    with write_transaction(engine) as conn:
        for arxiv_id, n in counts.items():
            conn.execute(papers.update().where(papers.c.arxiv_id == arxiv_id).values(upvotes=n))


@dataclass(frozen=True)
class ApiUser:
    id: int
    username: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_api_user(engine: Engine, username: str = "ada") -> ApiUser:
    """A verified user with a personal API token."""
    with write_transaction(engine) as conn:
        user = create_user(
            conn, username=username, email=f"{username}@example.org",
            password="correct horse battery staple", verified=True,
        )
        secret, _ = create_token(conn, user.id, "tests")
    return ApiUser(user.id, user.username, secret)


def paper_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(papers.c.arxiv_id)).scalars())


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def corpus(engine: Engine) -> Engine:
    """The migrated test database with the 26 papers in it."""
    load_corpus(engine)
    return engine


@pytest.fixture
def api_app(settings: Settings, corpus: Engine) -> FastAPI:
    from paperfeed.app import create_app

    return create_app(settings.model_copy(update={"embedding_backend": "hashing"}))


@pytest.fixture
def client(api_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(api_app) as test_client:
        yield test_client


@pytest.fixture
def api_user(corpus: Engine) -> ApiUser:
    return make_api_user(corpus)


__all__ = [
    "NEWEST_DAY",
    "TRICKY_ABSTRACT",
    "TRICKY_ID",
    "TRICKY_TITLE",
    "ApiUser",
    "api_app",
    "api_user",
    "client",
    "corpus",
    "load_corpus",
    "make_api_user",
    "paper_ids",
    "served",
    "set_upvotes",
]
