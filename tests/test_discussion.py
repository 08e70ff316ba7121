"""Discussion on the paper page: threads, Markdown, the edit marker, reports into the admin
queue, and notifications in-app (the bell, /notifications) and by email through the outbox
(a real SMTP server on 127.0.0.1), once per notification, instantly or as a daily digest."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from paperfeed.config import Settings
from paperfeed.mail.notifying import notify_comment, send_notification_digests
from paperfeed.mail.outbox import deliver_outbox
from paperfeed.mail.schedule import flush_outbox
from paperfeed.store.comments import add_comment
from paperfeed.store.database import write_transaction
from paperfeed.store.discussion_schema import notifications
from paperfeed.store.mail_schema import mail_outbox
from paperfeed.store.schema import papers
from paperfeed.store.submissions import record_submission

from .factories import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Site,
    build_site,
    deliver_mail,
    log_in,
    make_user,
    post,
    require_browser,
    served,
)
from .mail_corpus import mail_settings
from .smtp_sink import SmtpSink

PAPER = "2503.11742"
PAGE = f"/papers/{PAPER}"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def mail_site(settings: Settings, corpus: Engine, sink: SmtpSink) -> Iterator[Site]:
    # plain http, so that the test client keeps the (then not "Secure") cookies
    built = build_site(mail_settings(settings, sink.url, base_url="http://papers.example"),
                       corpus)
    yield built
    built.app.state.engine.dispose()


def client_for(site: Site, name: str, *, admin: bool = False) -> TestClient:
    make_user(site, name, admin=admin)
    client = TestClient(site.app)
    log_in(client, f"{name}@example.org")
    return client


def comment(client: TestClient, body: str, parent: int | None = None) -> int:
    data = {"body": body} | ({"parent_id": str(parent)} if parent else {})
    response = post(client, f"{PAGE}/comments", data, page=PAGE)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("#comment-")[1])


def unread_badge(client: TestClient) -> int:
    found = re.search(r'class="unread" data-unread="(\d+)"', client.get("/collections").text)
    return int(found.group(1)) if found else 0


def count(engine: Engine, table: object, *conds: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)  # type: ignore[arg-type]
                                .where(*conds)).scalar_one())


def test_a_reply_notifies_its_author_in_app_and_by_one_email_never_twice(
    mail_site: Site, sink: SmtpSink,
) -> None:
    alice, bob = client_for(mail_site, "alice"), client_for(mail_site, "bob")
    top = comment(alice, "What about $O(n^2)$ memory?")
    deliver_mail(mail_site)  # what the app's background sender does after each request
    assert sink.received == [] and unread_badge(alice) == 0
    reply = comment(bob, "@alice it is linear, see **Table 2**.", parent=top)

    deliver_mail(mail_site)
    assert len(sink.received) == 1  # a reply that also mentions her is one notification
    (mail,) = sink.received
    message = mail.message
    assert mail.rcpt_tos == ["alice@example.org"]
    assert message["Subject"].startswith("bob replied to your comment")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "@alice it is linear" in text and f"{PAGE}#comment-{reply}" in text
    assert f"http://papers.example{PAGE}#comment-{reply}" in html
    assert unread_badge(alice) == 1 and unread_badge(bob) == 0

    # retries: the outbox again, the notification step again, an edit that mentions her
    # again: nothing more reaches her
    deliver_outbox(mail_site.engine, mail_site.settings, mail_site.app.state.mailer)
    with write_transaction(mail_site.engine) as conn:
        assert notify_comment(conn, mail_site.settings, reply) == 0
    assert post(bob, f"/comments/{reply}/edit", {"body": "@alice it is linear (Table 2)."},
                page=PAGE).status_code == 303
    deliver_outbox(mail_site.engine, mail_site.settings, mail_site.app.state.mailer)
    assert len(sink.received) == 1
    assert count(mail_site.engine, notifications, notifications.c.comment_id == reply) == 1
    assert count(mail_site.engine, mail_outbox) == 1

    page = alice.get("/notifications").text
    assert "bob replied to your comment" in page and f"{PAGE}#comment-{reply}" in page
    assert unread_badge(alice) == 0  # opening the page read it
    # answering yourself notifies nobody
    comment(alice, "Thanks!", parent=top)
    deliver_mail(mail_site)
    assert len(sink.received) == 1 and unread_badge(bob) == 0


def test_the_reply_email_goes_out_through_the_apps_background_sender(
    mail_site: Site, sink: SmtpSink,
) -> None:
    """The done-when end to end: with the app running (its lifespan starts the outbox
    sender), a reply is mailed to the parent's author once, with no explicit delivery."""
    alice = client_for(mail_site, "alice")
    top = comment(alice, "Does it scale?")
    make_user(mail_site, "bob")
    with TestClient(mail_site.app) as bob:
        log_in(bob, "bob@example.org")
        reply = comment(bob, "Linearly.", parent=top)
        deadline = time.monotonic() + 30
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # a second message would have arrived by now
        assert [m.rcpt_tos for m in sink.received] == [["alice@example.org"]]
        assert f"#comment-{reply}" in sink.received[0].message.get_body(("plain",)).get_content()
    assert unread_badge(alice) == 1


def test_mentions_and_submissions_notify_per_preference_and_daily_digest_is_one_mail(
    mail_site: Site, sink: SmtpSink,
) -> None:
    alice, bob = client_for(mail_site, "alice"), client_for(mail_site, "bob")
    carol = client_for(mail_site, "carol")
    dora = make_user(mail_site, "dora")
    with write_transaction(mail_site.engine) as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)
                                ).scalar_one()
        record_submission(conn, paper_id, dora.id, dt.date.today())
    # carol wants mentions only, once a day
    assert post(carol, "/settings/notifications", {"email_mentions": "1",
                                                   "email_batch": "daily"},
                page="/settings/notifications").status_code == 303
    comment(alice, "Hello @carol and @bob, and @ghost")
    comment(bob, "Another thought for @carol")
    deliver_mail(mail_site)
    # bob (instant, mention) and dora (the paper's submitter, twice) get mail now
    assert sorted(m.rcpt_tos[0] for m in sink.received) == [
        "bob@example.org", "dora@example.org", "dora@example.org"]
    assert unread_badge(carol) == 2
    # the worker's outbox job queues the day's digests, then delivers
    assert flush_outbox(mail_site.engine, mail_site.settings, mail_site.app.state.mailer) == 1
    day = dt.datetime.now(dt.UTC).date()
    assert send_notification_digests(mail_site.engine, mail_site.settings, day) == 0
    deliver_outbox(mail_site.engine, mail_site.settings, mail_site.app.state.mailer)
    digests = [m for m in sink.received if m.rcpt_tos == ["carol@example.org"]]
    assert len(digests) == 1
    assert digests[0].message["Subject"] == "2 new notifications on paperfeed"
    body = digests[0].message.get_body(("plain",)).get_content()
    assert "alice mentioned you" in body and "bob mentioned you" in body
    # nothing left pending: tomorrow's run sends nothing either
    assert send_notification_digests(mail_site.engine, mail_site.settings,
                                     day + dt.timedelta(days=1)) == 0


def test_threads_are_stored_at_any_depth_and_shown_one_level_deep(
    site: Site, client: TestClient,
) -> None:
    alice = client_for(site, "alice")
    top = comment(alice, "Top")
    first = comment(alice, "Level one", parent=top)
    second = comment(alice, "Level two", parent=first)
    third = comment(alice, "Level three", parent=second)
    page = client.get(PAGE).text
    assert "Comments (4)" in page
    # one nested list under the top comment holds every reply, oldest first
    thread = page.split(f'id="comment-{top}"')[1]
    nested = thread.split('<ol class="comment-list replies">')[1].split("</ol>")[0]
    assert [int(x) for x in re.findall(r'<li id="comment-(\d+)"', nested)] == [
        first, second, third]
    assert page.count('<ol class="comment-list replies">') == 1
    assert f'in reply to <a href="#comment-{first}">@alice</a>' in nested
    # a reply to a comment of another paper is refused
    other = post(alice, "/papers/2503.11731/comments", {"body": "x", "parent_id": str(top)},
                 page=PAGE)
    assert other.status_code in (400, 404)


def test_markdown_is_rendered_safely_and_edits_are_marked(site: Site, client: TestClient) -> None:
    alice = client_for(site, "alice")
    cid = comment(alice, "**Nice**: <img src=x onerror=alert(1)> [x](javascript:alert(1)) "
                         "$\\alpha_1$")
    page = client.get(PAGE).text
    body = page.split(f'id="comment-{cid}"')[1].split("</li>")[0]
    assert "<strong>Nice</strong>" in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert 'href="javascript' not in body and "<img" not in body
    assert 'class="comment-body math"' in body and "$\\alpha_1$" in body
    assert 'class="edited"' not in body
    assert post(alice, f"/comments/{cid}/edit", {"body": "**Nicer**"}, page=PAGE
                ).status_code == 303
    body = client.get(PAGE).text.split(f'id="comment-{cid}"')[1].split("</li>")[0]
    assert '<span class="edited" title="Edited ' in body and "<strong>Nicer</strong>" in body


def test_a_report_lands_in_the_admin_queue_and_hiding_resolves_it(site: Site) -> None:
    alice, bob = client_for(site, "alice"), client_for(site, "bob")
    admin = client_for(site, "boss", admin=True)
    cid = comment(alice, "Buy cheap pills at https://spam.example")
    comment(bob, "Please do not post ads here.", parent=cid)
    assert 'id="reports-title">Reported comments (0)' in admin.get("/admin").text
    assert post(bob, f"/comments/{cid}/report", {"reason": "spam <b>ad</b>"}, page=PAGE
                ).status_code == 303
    assert post(bob, f"/comments/{cid}/report", {"reason": "spam again"}, page=PAGE
                ).status_code == 303  # once per reader
    assert post(bob, "/comments/999999/report", {"reason": "x"}, page=PAGE).status_code == 404
    queue = admin.get("/admin").text
    assert 'Reported comments (1)' in queue and "reported 1 time" in queue
    assert "spam again" in queue and "<b>ad</b>" not in queue
    assert post(bob, f"/admin/reports/{cid}", {"action": "hide"}, page=PAGE).status_code == 403
    assert post(admin, f"/admin/reports/{cid}", {"action": "hide"}, page="/admin"
                ).status_code == 303
    assert "Reported comments (0)" in admin.get("/admin").text
    page = TestClient(site.app).get(PAGE).text
    assert "cheap pills" not in page and "spam.example" not in page
    # the answer stays, below a placeholder
    assert "A comment hidden by a moderator" in page and "Please do not post ads" in page


@pytest.mark.browser
@pytest.mark.slow
def test_math_in_comments_is_rendered_by_katex_and_markup_stays_inert(site: Site) -> None:
    """In Chromium: $...$ in a comment becomes KaTeX, with the abstracts' guarded settings
    (a \\rule bigger than maxSize is clamped); HTML in the comment never runs."""
    sync_api = require_browser()
    alice = make_user(site, "alice")
    with write_transaction(site.engine) as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)
                                ).scalar_one()
        add_comment(conn, paper_id, alice.id, "Bound: $\\sum_i x_i^2 \\le 1$ and "
                    "$\\rule{500em}{1em}$ <img src=x onerror=\"document.title='pwned'\"> "
                    "<script>document.title='pwned'</script>")
    with served(site.app) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}{PAGE}#comments")
            page.wait_for_selector(".comment-body .katex")
            assert page.locator(".comment-body .katex").count() == 2
            width = page.evaluate("document.querySelector('.comment-body .katex:last-of-type')"
                                  ".getBoundingClientRect().width")
            assert width < 20 * 16 * 2  # maxSize 20em: the 500em rule is clamped
            assert page.title() != "pwned" and page.locator(".comment-body img").count() == 0
        finally:
            browser.close()


def test_one_comment_notifies_at_most_ten_mentions_and_hidden_ones_leave_the_bell(
    engine: Engine, settings: Settings,
) -> None:
    from paperfeed.mail.notifying import post_comment
    from paperfeed.store.comments import set_comment_hidden
    from paperfeed.store.notifications import MAX_MENTIONS, list_notifications, unread_count

    from .factories import load_web_corpus

    load_web_corpus(engine)
    author = make_user(engine, "spammer")
    names = [f"reader{i:02d}" for i in range(MAX_MENTIONS + 2)]
    readers = [make_user(engine, name) for name in names]
    cfg = mail_settings(settings)
    with write_transaction(engine) as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == PAPER)
                                ).scalar_one()
        cid = post_comment(conn, cfg, paper_id, author.id, " ".join(f"@{n}" for n in names))
    with engine.connect() as conn:
        counts = [unread_count(conn, r.id) for r in readers]
    assert counts == [1] * MAX_MENTIONS + [0, 0]
    assert count(engine, mail_outbox) == MAX_MENTIONS
    with write_transaction(engine) as conn:
        set_comment_hidden(conn, cid, True)
    with engine.connect() as conn:
        assert unread_count(conn, readers[0].id) == 0
        assert list_notifications(conn, readers[0].id) == []
