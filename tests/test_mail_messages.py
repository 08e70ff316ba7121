"""Named messages: every message renders, HTML is escaped with CSS inlined, links are
absolute, no images or tracking pixels; the digest matches its committed snapshot (HTML and
text) and a browser screenshot of it is kept as a test artefact."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.mail.digest import DigestBuilder, period_for
from paperfeed.mail.mailer import MemoryMailer
from paperfeed.mail.messages import MESSAGES, compose, render_message, send_message
from paperfeed.store.subscriptions import find_subscription

from .factories import CHROMIUM, CHROMIUM_ARGS, require_browser, set_upvotes
from .mail_corpus import DAY1, SCRIPT_TITLE, add_corpus, add_subscriber, mail_settings

SNAPSHOTS = Path(__file__).parent / "data" / "mail"
UPDATE = os.environ.get("PAPERFEED_UPDATE_SNAPSHOTS") == "1"
HOSTILE = "<script>alert(1)</script>"
CONTEXTS = {
    "verify_email": {"url": "/verify/abc?x=1&y=2", "username": HOSTILE},
    "password_reset": {"url": "https://papers.example/reset/abc", "username": "ada",
                       "expires_minutes": 60},
    "confirm_new_email": {"url": "https://papers.example/settings/email/confirm/t",
                          "username": HOSTILE},
    "email_change_requested": {"username": "ada", "new_email": "x<script>@example.org"},
    "confirm_subscription": {"url": "https://papers.example/subscribe/confirm/t",
                             "email": "a@b.org", "frequency": "daily", "interests": [HOSTILE],
                             "max_age_hours": 72},
    "notification": {"username": "ada", "settings_url": "/settings/notifications", "item": {
        "headline": "bob replied to your comment", "paper_title": HOSTILE,
        "paper_url": "/papers/2503.11742", "url": "/papers/2503.11742#comment-3",
        "excerpt": HOSTILE}},
    "notification_digest": {"username": "ada", "settings_url": "/settings/notifications",
                            "day": "2026-12-07", "items": [{
                                "headline": "bob mentioned you", "paper_title": "A & B",
                                "paper_url": "/papers/2503.11742",
                                "url": "/papers/2503.11742#comment-4", "excerpt": HOSTILE}]},
}


def build_digest(engine, settings):
    add_corpus(engine, day2=False)
    set_upvotes(engine, {"2608.00005": 12, "2608.00004": 3})
    add_subscriber(engine, "reader@example.org", "long context attention", "protein structure",
                   authors=["Grace Hopper"], max_papers=6)
    cfg = mail_settings(settings)
    with engine.connect() as conn:
        builder = DigestBuilder(conn, cfg, HashingEmbedder(), period_for("daily", DAY1))
        sub = find_subscription(conn, email="reader@example.org")
        return cfg, builder.build(conn, [sub])[0]


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_account_messages_escape_and_use_absolute_links(settings, name):
    cfg = mail_settings(settings)
    rendered = render_message(cfg, name, CONTEXTS[name])
    assert "\n" not in rendered.subject and rendered.subject
    assert "<script" not in rendered.html.lower()
    if HOSTILE in str(CONTEXTS[name]):
        assert "&lt;script&gt;" in rendered.html and HOSTILE in rendered.text  # text is not HTML
    hrefs = re.findall(r'href="([^"]+)"', rendered.html)
    assert hrefs and all(h.startswith("https://papers.example") for h in hrefs)
    assert ("https://papers.example/verify/abc?x=1&amp;y=2" in rendered.html
            or name != "verify_email")
    assert "<img" not in rendered.html and "<style" not in rendered.html.split("</head>")[1]
    assert 'style="' in rendered.html  # CSS inlined


def test_send_message_is_the_web_apps_entry_point(settings):
    cfg = mail_settings(settings)
    mailer = MemoryMailer()
    message_id = send_message(cfg, "password_reset", "ada@example.org", CONTEXTS["password_reset"],
                              mailer=mailer)
    (msg,) = mailer.messages
    assert msg["Message-ID"] == message_id and msg["To"] == "ada@example.org"
    assert msg["From"] == "paperfeed <digest@paperfeed.test>"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert set(MESSAGES) == {"confirm_new_email", "confirm_subscription", "digest",
                             "email_change_requested", "notification", "notification_digest",
                             "password_reset", "verify_email"}


def test_header_injection_in_subject_is_flattened(settings):
    cfg = mail_settings(settings, site_name="paperfeed\r\nBcc: victim@example.org")
    rendered = render_message(cfg, "password_reset", CONTEXTS["password_reset"])
    msg = compose(cfg, "ada@example.org", rendered)
    assert msg["Bcc"] is None and "\n" not in msg["Subject"]


def test_digest_escapes_titles_and_explains_each_paper(engine, settings):
    _, digest = build_digest(engine, settings)
    html, text = digest.rendered.html, digest.rendered.text
    assert "<script" not in html.lower()
    assert "Attention &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; long context" in html
    assert SCRIPT_TITLE in text
    assert "matches your saved search ‘long context attention’" in html
    assert "by an author you follow: Grace Hopper" in html
    assert "trending: 12 upvotes" in html
    assert "<img" not in html
    assert all(h.startswith(("https://", "http://")) for h in re.findall(r'href="([^"]+)"', html))
    assert "https://papers.example/unsubscribe/" in html
    assert "https://papers.example/unsubscribe/" in text


def test_digest_matches_committed_snapshot(engine, settings):
    _, digest = build_digest(engine, settings)
    for suffix, body in (("html", digest.rendered.html), ("txt", digest.rendered.text),
                         ("subject.txt", digest.rendered.subject + "\n")):
        path = SNAPSHOTS / f"digest.{suffix}"
        if UPDATE or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        assert body == path.read_text(encoding="utf-8"), \
            f"{path} differs (PAPERFEED_UPDATE_SNAPSHOTS=1)"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width", [700, 375])
def test_digest_screenshot_in_chromium(width):
    """The committed snapshot as Chromium shows it (desktop and phone width)."""
    playwright = require_browser()
    artifacts = Path(os.environ.get("PAPERFEED_TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    html = (SNAPSHOTS / "digest.html").read_text(encoding="utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport={"width": width, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(artifacts / f"digest-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        browser.close()
    assert not [u for u in requests if not u.startswith(("about:", "data:"))]  # nothing loaded
    assert not overflow


def test_raw_mime_round_trips_non_ascii_and_long_lines(settings):
    from paperfeed.mail.messages import RenderedMessage
    from paperfeed.mail.mime import compose_raw

    cfg = mail_settings(settings, mail_from="Pâperfeed Digest <digest@paperfeed.test>")
    text = "Zoë’s paper\n" + "long line " * 30 + "\n.starts with a dot\n"
    html = "<p>Zoë &amp; <b>" + "x" * 300 + "</b></p>"
    rendered = RenderedMessage(subject="Über 3 papers: Zoë’s “attention”", text=text, html=html)
    raw = compose_raw(cfg, "ada@example.org", rendered, message_id="<m1@paperfeed.test>",
                      headers={"List-Unsubscribe": "<https://x/u/t>", "X-Evil": "a\r\nBcc: v@x"})
    assert raw.data.isascii() and all(len(line) <= 998 for line in raw.data.split(b"\r\n"))
    assert b"\n" not in raw.data.replace(b"\r\n", b"")
    msg = raw.parsed()
    assert msg["Subject"] == rendered.subject and msg["Message-ID"] == "<m1@paperfeed.test>"
    assert msg["From"].addresses[0].display_name == "Pâperfeed Digest" and msg["Bcc"] is None
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    assert msg.get_body(("html",)).get_content().rstrip("\r\n") == html
    assert (raw.sender, raw.recipient) == ("digest@paperfeed.test", "ada@example.org")
