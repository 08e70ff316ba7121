"""One set of factories for the tests: corpora, a site (the app on the test database),
users, API tokens, logged-in clients, a live server and the browser.

How to use it (the fixtures are registered in tests/conftest.py: any test can name them,
nothing needs importing except the helpers and constants you call):

- ``engine`` / ``settings`` / ``db_url`` (conftest): a fresh, migrated database per test,
  of the kind the run uses (``--db=sqlite`` or ``--db=postgres``); ``other_engine`` is a
  second one, ``empty_db_url`` an unmigrated one.
- ``corpus``: ``engine`` with a test corpus loaded. Which one is chosen per module or test
  with a marker, ``pytestmark = pytest.mark.corpus("api")``; the default is ``"web"``:

  - ``"web"``: tests/data/web (36 real papers of 2025-03-18..20, ``TODAY`` is the newest,
    plus two made-up ones), imported like a bulk file;
  - ``"api"``: tests/data/api (25 real papers of five March 2025 days, ``NEWEST_DAY``,
    plus the made-up ``TRICKY_ID`` whose every field needs escaping), embedded with the
    hashing embedder;
  - ``"mail"``: tests/mail_corpus.py (11 hand-written papers on ``DAY1`` and ``DAY2``);
  - ``"search"``: tests/search_corpus.py (10 hand-written papers, one hidden), embedded;
  - ``"none"``: nothing.
- ``site_settings``: the settings the site is built with (``settings`` with the hashing
  embedder); override this fixture in a module to build the site differently.
- ``site``: a ``Site`` (``app``, ``engine``, ``outbox``: the mail it queued, read from
  the ``mail_outbox`` table, ``settings``) on the corpus; ``client``: a ``TestClient`` on
  it. For a site with other settings inside a test (e.g. a replay server's URL), call
  ``build_site(settings, corpus, **updates)``.
- ``api_user``: "ada", verified, with a personal API token (``api_user.auth`` headers).
- Helpers: ``make_user(site_or_engine, name, admin=, verified=)`` (password ``PASSWORD``,
  email ``<name>@example.org``), ``make_api_user``, ``csrf_of``, ``log_in``, ``post`` (a
  form with a valid CSRF token), ``deliver_mail`` (the site's queued mail, sent now
  through its mailer), ``set_upvotes``, ``paper_ids``, ``served`` (the app on a
  real 127.0.0.1 port), ``require_browser`` (Playwright, once Chromium is there; the test
  skips without it, and fails instead when PAPERFEED_REQUIRE_BROWSER=1, as in CI).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from paperfeed.config import Settings
from paperfeed.mail.outbox import deliver_outbox
from paperfeed.models import Author, Link, Paper, Version
from paperfeed.store.database import write_transaction
from paperfeed.store.mail_schema import mail_outbox
from paperfeed.store.schema import papers
from paperfeed.store.tokens import create_token
from paperfeed.store.users import User, create_user

from .community_events import add_votes

DATA = Path(__file__).parent / "data"
PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

# the "web" corpus
WEB_PAPERS = DATA / "web" / "papers.jsonl"
TODAY = "2025-03-20"
# the "api" corpus
API_PAPERS = DATA / "api" / "papers.jsonl"
NEWEST_DAY = dt.date(2025, 3, 24)
TRICKY_ID = "2503.99999"
TRICKY_TITLE = "Escaping <script>alert(1)</script> & $\\alpha < \\beta$ in R&D"
TRICKY_ABSTRACT = (
    "We bound $\\|x\\|_2 < \\epsilon$ & show that <b>tags</b> stay text; "
    "see \\cite{a} and \\textbf{bold} ]]> \u00e9t\u00e9 \u2014 \U0001d4b3."
)
# an arXiv API (Atom) reply for 2503.12345, a paper no corpus has
ARXIV_REPLY = DATA / "web" / "arxiv-api-2503.12345.xml"


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


def make_paper(arxiv_id: str, title: str, abstract: str, categories: list[str],
               day: dt.date, authors: tuple[str, ...] | list[str] = ("Ada Lovelace",),
               source: str = "bulk") -> Paper:
    """A minimal paper announced on ``day`` (the hand-written corpora are made of these)."""
    return Paper(arxiv_id=arxiv_id, title=title, abstract=abstract,
                 authors=[Author(a) for a in authors], categories=categories,
                 primary_category=categories[0], announced_on=day, source=source)


def load_api_corpus(engine: Engine) -> None:
    """Import the 25 real papers and the tricky one, and index them with the hashing
    embedder (the tiny deterministic stand-in the API tests run with)."""
    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.index.vectors import index_missing
    from paperfeed.ingest.records import paper_from_json
    from paperfeed.store.papers import upsert_papers

    real = [paper_from_json(json.loads(line)) for line in API_PAPERS.read_text().splitlines()]
    with write_transaction(engine) as conn:
        upsert_papers(conn, [*real, tricky_paper()])
    index_missing(engine, HashingEmbedder())


def load_web_corpus(engine: Engine) -> None:
    """Import tests/data/web/papers.jsonl the way a bulk file is imported."""
    from paperfeed.ingest.bulk import import_file

    import_file(engine, WEB_PAPERS, background=False)


def _load_mail_corpus(engine: Engine) -> None:
    from .mail_corpus import add_corpus

    add_corpus(engine)


def _load_search_corpus(engine: Engine) -> None:
    from .search_corpus import load_search_corpus

    load_search_corpus(engine)


CORPORA: dict[str, Callable[[Engine], None]] = {
    "web": load_web_corpus,
    "api": load_api_corpus,
    "mail": _load_mail_corpus,
    "search": _load_search_corpus,
    "none": lambda engine: None,
}


def set_upvotes(engine: Engine, counts: dict[str, int]) -> None:
    """Give papers that many upvotes, cast on their announcement day (the vote routes are
    tested on their own; trending needs the dated votes, not only the counters)."""
    for arxiv_id, n in counts.items():
        add_votes(engine, arxiv_id, n)


def paper_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(papers.c.arxiv_id)).scalars())


class QueuedMail:
    """The emails a site queued (account and subscription mail), as the ``mail_outbox``
    rows say, sent or not: (name, recipient, context) oldest first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def sent(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(mail_outbox.c.name, mail_outbox.c.recipient,
                                       mail_outbox.c.context).order_by(mail_outbox.c.id))
            return [(row.name, row.recipient, dict(row.context)) for row in rows]

    def last(self, name: str, to: str | None = None) -> dict[str, Any]:
        """The context (``url``, ``username``, ...) of the newest ``name`` message to ``to``."""
        for sent_name, sent_to, context in reversed(self.sent):
            if sent_name == name and (to is None or sent_to == to):
                return context
        raise LookupError(f"no {name} message queued for {to}")


@dataclass
class Site:
    app: FastAPI
    engine: Engine
    outbox: QueuedMail  # the mail the app queued
    settings: Settings


def deliver_mail(site: Site) -> None:
    """Send the site's queued mail now, through its own mailer: the app's background sender
    is stopped first (waiting for a pass in flight), so the test knows when mail arrived."""
    sender = site.app.state.outbox_sender
    sender.stop(timeout=30)
    assert not sender.running, "the outbox sender did not stop"
    deliver_outbox(site.app.state.engine, site.settings, site.app.state.mailer)


def build_site(settings: Settings, engine: Engine, **updates: Any) -> Site:
    """The app on ``engine``'s database with the hashing embedder (and ``updates``), its
    mail kept in memory. Dispose of ``site.app.state.engine`` when done."""
    from paperfeed.app import create_app

    settings = settings.model_copy(update={"embedding_backend": "hashing", **updates})
    return Site(create_app(settings), engine, QueuedMail(engine), settings)


def _engine_of(target: Site | Engine) -> Engine:
    return target.engine if isinstance(target, Site) else target


def make_user(target: Site | Engine, name: str = "alice", *, admin: bool = False,
              verified: bool = True) -> User:
    """A user ``name`` <name@example.org> with the password ``PASSWORD``."""
    with write_transaction(_engine_of(target)) as conn:
        return create_user(conn, username=name, email=f"{name}@example.org",
                           password=PASSWORD, is_admin=admin, verified=verified)


@dataclass(frozen=True)
class ApiUser:
    id: int
    username: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_api_user(target: Site | Engine, name: str = "ada") -> ApiUser:
    """A verified user with a personal API token."""
    user = make_user(target, name)
    with write_transaction(_engine_of(target)) as conn:
        secret, _ = create_token(conn, user.id, "tests")
    return ApiUser(user.id, user.username, secret)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """Visit ``path`` (which sets the CSRF cookie) and read the token from its form."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF_FIELD.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"email": email, "password": password,
                                            "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert "pf_session" in client.cookies


def post(client: TestClient, path: str, data: dict[str, str] | None = None, *,
         page: str = "/login", **kwargs: Any) -> Any:
    """POST a form with a valid CSRF token taken from ``page``."""
    token = csrf_of(client, page) if page else ""
    return client.post(path, data={"csrf_token": token, **(data or {})},
                       follow_redirects=False, **kwargs)


def listening_socket() -> socket.socket:
    """A TCP socket bound to a free 127.0.0.1 port (``served`` listens on it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def base_url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def served(app: FastAPI, sock: socket.socket | None = None, *, lifespan: bool = False,
           log_level: str = "warning") -> Iterator[str]:
    """``app`` served by uvicorn in a thread on ``sock`` (default: a free 127.0.0.1 port);
    yields its base URL. With ``lifespan`` the app's startup runs too (its outbox sender)."""
    import uvicorn

    sock = sock or listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level,
                                           lifespan="on" if lifespan else "off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base_url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
REQUIRE_BROWSER = os.environ.get("PAPERFEED_REQUIRE_BROWSER") == "1"


def require_browser() -> ModuleType:
    """Playwright's sync API, once Debian's Chromium is known to be there. Without either
    the test is skipped, or fails when PAPERFEED_REQUIRE_BROWSER=1 (CI: `.ci/run`)."""
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"Debian's chromium is not installed at {CHROMIUM} (make browser)"
    else:
        try:
            from playwright import sync_api
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"{missing}, and PAPERFEED_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(missing)
    return sync_api


# --- fixtures (registered in tests/conftest.py) -------------------------------------------

@pytest.fixture
def corpus(request: pytest.FixtureRequest, engine: Engine) -> Engine:
    """``engine`` with the corpus named by ``@pytest.mark.corpus(name)`` (default "web")."""
    marker = request.node.get_closest_marker("corpus")
    CORPORA[marker.args[0] if marker else "web"](engine)
    return engine


@pytest.fixture
def site_settings(settings: Settings) -> Settings:
    """The settings ``site`` is built with (a module may override this fixture)."""
    return settings


@pytest.fixture
def site(site_settings: Settings, corpus: Engine) -> Iterator[Site]:
    built = build_site(site_settings, corpus)
    yield built
    built.app.state.engine.dispose()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app) as test_client:
        yield test_client


@pytest.fixture
def api_user(corpus: Engine) -> ApiUser:
    """"ada", verified, with a personal API token."""
    return make_api_user(corpus)


def record_callers(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str,
                   log: Path) -> Callable[[], set[int]]:
    """Wrap ``module.name`` so that every call appends the calling process's id to
    ``log`` (a file: forked workers write it too); returns a function reading the ids."""
    original = getattr(module, name)

    def logged(*args: Any, **kwargs: Any) -> Any:
        with open(log, "a") as out:
            out.write(f"{os.getpid()}\n")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, logged)
    return lambda: {int(line) for line in log.read_text().split()}
