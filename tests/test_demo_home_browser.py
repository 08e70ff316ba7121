"""`make run` on a fresh clone: the bundled demo's home page shows real signal at once.

Runs the real ``paperfeed demo --no-serve`` (bundled listings, bundled Hugging Face
daily-paper records, the bundled MiniLM through ONNX Runtime, TL;DR + keywords) into a
brand-new database, serves it, and opens the home page in Chromium: the cards carry
Hugging Face upvotes ("▲ N on Hugging Face"), an extractive TL;DR and keyword chips that
link to a search; the first card is the most upvoted one (nobody voted locally yet), and
the page says what it ranks by. A screenshot goes to $PAPERFEED_TEST_ARTIFACTS/<db>/.

SQLite only: the demo is the laptop path (`make run`); the PostgreSQL suite covers the
same cards through the factories (tests/test_summaries_shown.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperfeed.app import create_app
from paperfeed.cli import main
from paperfeed.config import load_settings

from .factories import (
    CHROMIUM,
    CHROMIUM_ARGS,
    base_url_of,
    listening_socket,
    require_browser,
    served,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_demo_home_page_shows_upvotes_tldrs_and_keyword_chips(
    db_kind: str, new_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_kind == "postgres":
        pytest.skip("the bundled demo is the SQLite laptop path (make run)")
    sync_api = require_browser()
    db_url = new_database(migrated=False)  # `paperfeed demo` migrates it itself
    cache = tmp_path / "cache"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PAPERFEED_CACHE_DIR", str(cache))
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", db_url])
    assert result.exit_code == 0, (result.output, result.exception)
    assert re.search(r"summaries: [\d,]+ computed", result.output), result.output

    sock = listening_socket()
    settings = load_settings(database_url=db_url, cache_dir=str(cache),
                             base_url=base_url_of(sock))
    app = create_app(settings)
    artifacts = Path(os.environ.get("PAPERFEED_TEST_ARTIFACTS", "test-artifacts")) / db_kind
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        with served(app, sock) as base, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 1000})
            page.goto("/")
            page.screenshot(path=str(artifacts / "demo-home.png"))
            cards = page.locator("li.card")
            assert cards.count() >= 10

            upvotes = page.locator("li.card .hf-upvotes")
            assert upvotes.count() >= 5
            first = upvotes.first.inner_text()
            assert re.fullmatch(r"▲ \d+ on Hugging Face", first), first
            assert upvotes.first.is_visible()
            counts = [int(re.findall(r"\d+", t)[0]) for t in upvotes.all_inner_texts()]
            # the daily page ranks by the blended score: with no local votes, the most
            # upvoted paper of the day comes first
            assert counts[0] == max(counts), counts
            assert "ranked by" in page.locator("main").inner_text().lower()

            tldrs = page.locator("li.card p.tldr")
            assert tldrs.count() >= cards.count() // 2
            assert tldrs.first.is_visible()
            tldr_text = tldrs.first.inner_text()
            assert tldr_text.startswith("TL;DR") and len(tldr_text) > 40, tldr_text

            chips = page.locator("li.card a.chip.keyword")
            assert chips.count() >= 3 * cards.count() // 2
            assert chips.first.is_visible()
            assert chips.first.get_attribute("href").startswith("/search?q=")
            chips.first.click()
            page.wait_for_url("**/search?q=*")
            assert page.locator("li.card").count() > 0
            browser.close()
    finally:
        app.state.engine.dispose()
