"""The browser tests' shared pieces (fixtures registered in tests/conftest.py): Debian's
Chromium driven by Playwright (``browser``), the site served on 127.0.0.1 (``live``), where
screenshots go (``artifacts``), and ``new_page``, a page that refuses any request leaving
127.0.0.1. Without Chromium the tests skip, or fail when PAPERFEED_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperfeed.config import Settings

from .factories import (
    ARXIV_REPLY,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    Site,
    base_url_of,
    build_site,
    listening_socket,
    make_user,
    require_browser,
    served,
)
from .replay import ReplayServer, Reply


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = require_browser()
    # launch() gives every run a fresh, throw-away profile directory.
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts(db_kind: str) -> Path:
    root = Path(os.environ.get("PAPERFEED_TEST_ARTIFACTS", "test-artifacts"))
    path = root / db_kind
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def live(settings: Settings, corpus: Engine, replay: ReplayServer) -> Iterator[tuple[str, Site]]:
    """The site served by uvicorn on 127.0.0.1 (arXiv API answered by the replay server)."""
    replay.add("/api/query", Reply(body=ARXIV_REPLY.read_bytes()), query_contains="2503.12345")
    sock = listening_socket()
    site = build_site(settings, corpus, arxiv_api_url=replay.url + "/api/query",
                      base_url=base_url_of(sock))
    with served(site.app, sock) as base:
        yield base, site


def new_page(browser: Any, base: str, *, width: int = 1280, height: int = 900,
             javascript: bool = True) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  java_script_enabled=javascript, base_url=base)
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith((base, "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.outside_requests = outside  # checked by the tests: nothing may leave 127.0.0.1
    page.set_default_timeout(15_000)
    return page


def sign_in(page: Any, name: str) -> None:
    """Log ``name`` (made by factories.make_user) in through the login form."""
    page.goto("/login")
    page.fill("#email", f"{name}@example.org")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector(f"nav >> text={name}")


def signed_in_page(browser: Any, live: tuple[str, Site], name: str) -> Any:
    """A new page (``new_page``) signed in as a new user ``name``."""
    base, site = live
    make_user(site, name)
    page = new_page(browser, base)
    sign_in(page, name)
    return page
