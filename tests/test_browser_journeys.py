"""Real-browser journeys: Playwright driving Debian's Chromium against a live server.

Read the daily page (desktop and 375 px), open a paper (KaTeX rendered), search, sign up
and log in, vote, comment, save to a collection, submit — plus the same vote without
JavaScript and a keyboard-only pass. Screenshots go to $PAPERFEED_TEST_ARTIFACTS
(default ./test-artifacts)/<database>/ for review. No request may leave 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .browser_site import new_page
from .factories import PASSWORD, Site, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_reading_journey(browser: Any, live: tuple[str, Site], artifacts: Path) -> None:
    base, _ = live
    page = new_page(browser, base)
    page.goto("/")
    assert page.locator("h1").inner_text() == "Thursday, March 20, 2025"
    assert page.locator("li.card").count() == 13
    page.screenshot(path=str(artifacts / "01-daily.png"), full_page=True)

    page.get_by_role("link", name="Previous day").click()
    page.wait_for_url("**/?date=2025-03-19")
    page.get_by_role("link", name="Weekly").click()
    assert "Week 12 of 2025" in page.locator("h1").inner_text()

    page.goto("/")
    page.locator("li.card h3 a", has_text="Attacks on").click()
    page.wait_for_url("**/papers/2503.99901")
    page.wait_for_selector(".abstract .katex")  # LaTeX rendered by the vendored KaTeX
    assert page.locator(".abstract").inner_text().count("<script>alert(1)</script>") == 1
    assert not page.evaluate("window.__xss === true")
    page.screenshot(path=str(artifacts / "02-paper.png"), full_page=True)

    page.fill("#header-q", "vision language models")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    page.wait_for_selector("li.card")
    assert page.locator("li.card").count() > 0
    page.screenshot(path=str(artifacts / "03-search.png"), full_page=True)
    page.goto("/search?q=zzzzqqqxxx+nothing&mode=keyword")
    assert "No papers match" in page.content()
    page.goto("/trending?window=week")
    page.screenshot(path=str(artifacts / "04-trending.png"))
    assert page.outside_requests == []

    phone = new_page(browser, base, width=375, height=812)
    for path, name in (("/", "05-daily-375px.png"), ("/papers/2503.99901", "06-paper-375px.png")):
        phone.goto(path)
        overflow = phone.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, (path, overflow)
        phone.screenshot(path=str(artifacts / name), full_page=True)
        phone.screenshot(path=str(artifacts / name.replace(".png", "-top.png")))
    assert phone.outside_requests == []


def test_account_journey(browser: Any, live: tuple[str, Site], artifacts: Path) -> None:
    base, site = live
    page = new_page(browser, base)
    page.goto("/")
    page.get_by_role("link", name="Sign up", exact=True).click()
    page.fill("#username", "reader")
    page.fill("#email", "reader@example.org")
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(artifacts / "10-signup.png"))
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_selector("text=Check your inbox")
    link = site.outbox.last("verify_email", "reader@example.org")["url"]
    page.goto(link)  # the link shows a button; clicking it verifies, then one logs in
    page.get_by_role("button", name="Confirm my email address").click()
    page.wait_for_selector("text=Your email address is verified")
    page.fill("#email", "reader@example.org")
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(artifacts / "11-login.png"))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("nav >> text=reader")

    # Vote with the progressive script: no reload, the count changes in place.
    page.goto("/papers/2503.11742")
    vote = page.locator(".actions .vote-button")
    vote.click()
    page.wait_for_selector(".actions .vote-button[aria-pressed='true']")
    assert vote.locator(".count").inner_text() == "1"
    page.reload()
    assert page.locator(".actions .vote-button").get_attribute("aria-pressed") == "true"

    page.fill("#comment-body", "Great results. Code: https://github.com/example/repo <b>bold?</b>")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_selector("text=Your comment is posted")
    comment = page.locator(".comment-body").first
    assert "<b>bold?</b>" in comment.inner_text()
    assert comment.locator("a").get_attribute("href") == "https://github.com/example/repo"

    page.fill("#new-collection-name", "To read")
    page.get_by_role("button", name="Create and save").click()
    page.wait_for_selector("text=Saved to your collection")
    assert page.get_by_role("button", name="✓ In “To read” — remove").count() == 1
    page.screenshot(path=str(artifacts / "12-paper-logged-in.png"), full_page=True)
    page.get_by_role("link", name="Collections", exact=True).click()
    page.get_by_role("link", name="To read").click()
    page.wait_for_selector("li.card")
    assert page.locator("li.card").count() == 1
    page.screenshot(path=str(artifacts / "13-collection.png"))

    page.get_by_role("link", name="Submit", exact=True).click()
    page.fill("#paper", "https://arxiv.org/abs/2503.12345v2")  # unknown: fetched from "arXiv"
    page.screenshot(path=str(artifacts / "14-submit.png"))
    page.get_by_role("button", name="Submit paper").click()
    page.wait_for_url("**/papers/2503.12345?m=submitted")
    assert "Fetched On Demand" in page.locator("h1").inner_text()
    page.goto("/submit")
    page.fill("#paper", "2503.12345")
    page.get_by_role("button", name="Submit paper").click()
    page.wait_for_selector("text=Already submitted by reader")
    page.goto("/")
    assert page.locator("[id='paper-2503.12345']").count() == 1
    page.goto("/users/reader")
    page.screenshot(path=str(artifacts / "15-profile.png"), full_page=True)
    page.goto("/settings")
    page.fill("#token-name", "laptop")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_selector("code.secret")
    page.screenshot(path=str(artifacts / "16-settings.png"), full_page=True)
    assert page.outside_requests == []


def test_voting_and_commenting_work_without_javascript(
    browser: Any, live: tuple[str, Site], artifacts: Path
) -> None:
    base, site = live
    make_user(site, "nojs")
    page = new_page(browser, base, javascript=False)
    page.goto("/login")
    page.fill("#email", "nojs@example.org")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("nav >> text=nojs")
    first = page.locator("li.card").first
    arxiv_id = first.get_attribute("id").removeprefix("paper-")  # type: ignore[union-attr]
    first.locator(".vote-button").click()
    page.wait_for_load_state()
    assert page.locator(f"[id='paper-{arxiv_id}'] .vote-button").get_attribute(
        "aria-pressed") == "true"
    page.goto(f"/papers/{arxiv_id}")
    page.fill("#comment-body", "Posted without JavaScript.")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_selector("text=Posted without JavaScript.")
    page.screenshot(path=str(artifacts / "20-no-javascript.png"), full_page=True)


def test_keyboard_only(browser: Any, live: tuple[str, Site], artifacts: Path) -> None:
    base, _ = live
    page = new_page(browser, base)
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    # Every link and button is reachable: tab through the first few and check focus shows.
    seen = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("document.activeElement.tagName"))
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
    assert "A" in seen
    page.screenshot(path=str(artifacts / "21-keyboard-focus.png"))
