"""A researcher's daily loop in Chromium: follow an author and see why a paper is in For
you, dark mode (system preference and the remembered toggle), j / k / o / u keyboard
navigation, and an axe-core accessibility check of the main pages (no serious or critical
violation, light and dark). Like the other browser tests these fail, not skip, when
Chromium is missing and PAPERFEED_REQUIRE_BROWSER=1 (CI).

axe-core is vendored for tests only in tests/vendor/axe-core (vendor-axe-core.sh).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from paperfeed.store.community_schema import users

from .browser_site import new_page, sign_in, signed_in_page
from .factories import Site, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
DARK_BG = "rgb(15, 18, 22)"
LIGHT_BG = "rgb(255, 255, 255)"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
}"""


def background(page: Any) -> str:
    """The page's background colour, once its stylesheet has loaded (before that, a page
    just navigated to computes the default transparent background)."""
    page.wait_for_load_state("load")
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"
                             " === 'rgba(0, 0, 0, 0)' ? getComputedStyle("
                             "document.documentElement).backgroundColor : "
                             "getComputedStyle(document.body).backgroundColor"))


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the site's CSP (script-src 'self')
        # rightly refuses inline scripts, and this is not one.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    found = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_follow_an_author_then_for_you_says_why(browser: Any, live: tuple[str, Site],
                                                artifacts: Path) -> None:
    page = signed_in_page(browser, live, "follower")
    page.goto("/")
    author = page.locator("li.card .authors a").first
    name = author.inner_text()
    author.click()
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == name
    page.get_by_role("button", name="Follow this author").click()
    page.wait_for_selector("text=✓ Following")
    page.get_by_role("link", name="For you", exact=True).click()
    page.wait_for_url("**/for-you")
    reason = page.locator(".chip.reason", has_text="by an author you follow")
    assert reason.count() >= 1
    assert reason.first.inner_text() == f"by an author you follow: {name}"
    page.screenshot(path=str(artifacts / "30-for-you-follow-reason.png"), full_page=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Following").click()
    page.wait_for_url("**/following")
    page.wait_for_selector(".follow-list a")
    assert page.locator(".follow-list a", has_text=name).count() == 1
    assert page.outside_requests == []


def test_dark_mode_follows_the_system_and_the_toggle_is_remembered(
    browser: Any, live: tuple[str, Site], artifacts: Path
) -> None:
    base, site = live
    context = browser.new_context(color_scheme="dark", base_url=base)
    dark = context.new_page()
    dark.goto("/")
    assert background(dark) == DARK_BG
    dark.screenshot(path=str(artifacts / "31-daily-dark.png"))
    context.close()

    page = new_page(browser, base)  # the system says light
    page.goto("/")
    assert background(page) == LIGHT_BG
    toggle = page.locator("form[data-theme-toggle] button")
    assert toggle.inner_text() == "Theme: system"
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert background(page) == DARK_BG and toggle.inner_text() == "Theme: dark"
    page.reload()  # anonymous: remembered in localStorage, applied before the first paint
    assert background(page) == DARK_BG
    page.locator("form[data-theme-toggle] button").click()
    assert background(page) == LIGHT_BG  # dark -> light

    # Signed in, the choice is saved on the account and follows them to another browser.
    user = make_user(site, "nightowl")
    first = new_page(browser, base)
    sign_in(first, "nightowl")
    first.locator("form[data-theme-toggle] button").click()
    first.wait_for_function("document.documentElement.dataset.userTheme === 'dark'")
    for _ in range(50):  # the save is a fetch() in the background
        with site.engine.connect() as conn:
            theme = conn.execute(select(users.c.theme).where(users.c.id == user.id)).scalar()
        if theme == "dark":
            break
        first.wait_for_timeout(100)
    assert theme == "dark"
    other = new_page(browser, base)
    sign_in(other, "nightowl")
    assert background(other) == DARK_BG
    assert other.locator("form[data-theme-toggle] button").inner_text() == "Theme: dark"


def test_keyboard_navigation_on_listings(browser: Any, live: tuple[str, Site],
                                         artifacts: Path) -> None:
    page = signed_in_page(browser, live, "keys")
    page.goto("/")
    cards = page.locator("li.card")
    current = "document.activeElement.id"
    page.keyboard.press("j")
    first = cards.nth(0).get_attribute("id")
    assert page.evaluate(current) == first
    assert "kbd-current" in (cards.nth(0).get_attribute("class") or "")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    second = cards.nth(1).get_attribute("id")
    assert page.evaluate(current) == second
    assert page.locator("li.card.kbd-current").count() == 1
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.screenshot(path=str(artifacts / "32-keyboard-current-card.png"))
    page.keyboard.press("u")  # upvote the current card
    page.wait_for_selector(f"[id='{second}'] .vote-button[aria-pressed='true']")
    # Typing in the search box is typing, not navigating.
    page.focus("#header-q")
    page.keyboard.type("jk")
    assert page.input_value("#header-q") == "jk"
    assert page.evaluate(current) == "header-q"
    page.locator(f"[id='{second}']").focus()
    page.keyboard.press("o")  # open the current card's paper
    page.wait_for_url(f"**/papers/{second.removeprefix('paper-')}")  # type: ignore[union-attr]
    assert page.outside_requests == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_have_no_serious_accessibility_violations(
    browser: Any, live: tuple[str, Site], scheme: str
) -> None:
    base, site = live
    assert AXE.exists(), "tests/vendor/axe-core/axe.min.js is missing (vendor-axe-core.sh)"
    make_user(site, "axe")
    context = browser.new_context(color_scheme=scheme, base_url=base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    found: dict[str, list[dict[str, Any]]] = {}
    anonymous = ["/", "/papers/2503.11742", "/search?q=vision+language+models", "/trending",
                 "/login"]
    for path in anonymous:
        page.goto(path)
        found[path] = serious_violations(page)
    sign_in(page, "axe")
    page.goto("/authors/Xianming%20Zeng")
    page.get_by_role("button", name="Follow this author").click()
    page.wait_for_selector("text=✓ Following")
    for path in ["/following", "/for-you", "/?hide_seen=1"]:
        page.goto(path)
        found[path] = serious_violations(page)
    context.close()
    assert {path: v for path, v in found.items() if v} == {}
