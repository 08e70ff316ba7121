"""The test helpers themselves: browser tests skip without Chromium, but fail in CI."""

from __future__ import annotations

import pytest

from . import factories


@pytest.mark.parametrize("required", [False, True])
def test_a_missing_browser_skips_unless_it_is_required(monkeypatch, tmp_path, required):
    monkeypatch.setattr(factories, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setattr(factories, "REQUIRE_BROWSER", required)
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="chromium is not installed"):
        factories.require_browser()
