"""Factories for the tests (see the module docstring's end for how to use them)."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

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
