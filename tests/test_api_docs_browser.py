"""/docs in a real browser (Debian's Chromium through Playwright): Swagger UI renders the
API from the vendored assets under the site's Content-Security-Policy, and the page asks
nothing of any other host."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .factories import CHROMIUM, CHROMIUM_ARGS, require_browser, served

pytestmark = [pytest.mark.corpus("api"), pytest.mark.browser, pytest.mark.slow]



def test_swagger_ui_renders_offline(site, db_kind):
    sync_api = require_browser()
    artifacts = Path(os.environ.get("PAPERFEED_TEST_ARTIFACTS", "test-artifacts")) / db_kind
    artifacts.mkdir(parents=True, exist_ok=True)
    with served(site.app) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            hosts: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: hosts.append(urlsplit(r.url).netloc))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(base + "/docs")
            page.wait_for_selector(".opblock", timeout=15_000)
            assert page.locator(".opblock").count() >= 20
            assert "paperfeed" in page.locator(".info .title").inner_text()
            page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
        finally:
            browser.close()
    assert set(hosts) == {urlsplit(base).netloc}, hosts
    assert problems == [], problems
