"""Changing the account's email address: a link to the new address (the account moves when
it is opened), a notice to the old one (both queued in the outbox with the request's
transaction), and the old address keeps working until then."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from paperfeed.store import users as users_module
from paperfeed.store.database import write_transaction
from paperfeed.store.mail_schema import mail_outbox
from paperfeed.store.subscriptions import Preferences, find_subscription, upsert_subscription
from paperfeed.store.users import authenticate, change_email, get_user, get_user_by_email

from .factories import PASSWORD, Site, deliver_mail, log_in, make_user, post


def queued(site: Site) -> list[Any]:
    with site.engine.connect() as conn:
        return list(conn.execute(select(mail_outbox).order_by(mail_outbox.c.id)).all())


def ask(client: TestClient, email: str, current: str = PASSWORD) -> Any:
    return post(client, "/settings/email", {"email": email, "current": current},
                page="/settings")


def can_log_in(site: Site, email: str) -> bool:
    with write_transaction(site.engine) as conn:
        return authenticate(conn, email, PASSWORD) is not None


def test_the_new_address_confirms_and_the_old_one_is_told(site: Site, client: TestClient) -> None:
    ada = make_user(site, "ada")
    log_in(client, "ada@example.org")
    asked = ask(client, " Ada.New@Example.org ")
    assert asked.status_code == 303 and asked.headers["location"] == "/settings?m=email-change-sent"
    assert "current address keeps working" in client.get(asked.headers["location"]).text
    deliver_mail(site)  # what the app's background sender does after the request
    link, notice = queued(site)
    assert (link.recipient, link.name) == ("ada.new@example.org", "confirm_new_email")
    assert (notice.recipient, notice.name) == ("ada@example.org", "email_change_requested")
    assert notice.context["new_email"] == "ada.new@example.org"
    assert link.sent_at is not None and notice.sent_at is not None  # delivered after commit
    # Until the link is opened nothing changes: the old address still logs in.
    assert can_log_in(site, "ada@example.org") and not can_log_in(site, "ada.new@example.org")
    elsewhere = TestClient(site.app)
    log_in(elsewhere, "ada@example.org")

    path = link.context["url"].removeprefix("http://testserver")
    assert path.startswith("/settings/email/confirm/")
    landing = client.get(path)  # a GET (a mail scanner) changes nothing
    assert landing.status_code == 200 and "ada.new@example.org" in landing.text
    assert can_log_in(site, "ada@example.org")
    done = post(client, path, page=path)
    assert done.status_code == 303 and done.headers["location"] == "/settings?m=email-changed"
    with site.engine.connect() as conn:
        user = get_user(conn, ada.id)
    assert user is not None and user.email == "ada.new@example.org" and user.email_verified
    assert can_log_in(site, "ada.new@example.org") and not can_log_in(site, "ada@example.org")
    again = post(client, path, page=path)  # a link works once
    assert again.status_code == 400 and "used already" in again.text


def test_opening_the_link_logged_out_asks_to_log_in_afterwards(site: Site,
                                                                client: TestClient) -> None:
    ada = make_user(site, "ada")
    with write_transaction(site.engine) as conn:  # the account's digest moves with it
        upsert_subscription(conn, "ada@example.org", Preferences(), confirmed=True,
                            user_id=ada.id)
    log_in(client, "ada@example.org")
    ask(client, "ada@new.example.org")
    path = queued(site)[0].context["url"].removeprefix("http://testserver")
    phone = TestClient(site.app)  # another browser, not logged in
    done = post(phone, path, page=path)
    assert done.status_code == 303 and done.headers["location"] == "/login?m=email-changed"
    assert can_log_in(site, "ada@new.example.org")
    with site.engine.connect() as conn:
        assert find_subscription(conn, email="ada@new.example.org") is not None
        assert find_subscription(conn, email="ada@example.org") is None


def test_a_link_dies_when_the_address_changed_another_way(site: Site, client: TestClient) -> None:
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    ask(client, "first@example.org")
    ask(client, "second@example.org")
    first, _, second, _ = queued(site)
    second_path = second.context["url"].removeprefix("http://testserver")
    assert post(client, second_path, page=second_path).status_code == 303
    first_path = first.context["url"].removeprefix("http://testserver")
    stale = post(client, first_path, page=first_path)
    assert stale.status_code == 400 and can_log_in(site, "second@example.org")
    assert client.get("/settings/email/confirm/forged-token").status_code == 400


def test_refusals_queue_no_mail(site: Site, client: TestClient) -> None:
    make_user(site, "ada")
    make_user(site, "bob")
    log_in(client, "ada@example.org")
    for email, current, words in (("new@example.org", "wrong password!", "not right"),
                                  ("ADA@example.org", PASSWORD, "already your address"),
                                  ("not an address", PASSWORD, "email address")):
        refused = ask(client, email, current)
        assert refused.status_code == 400 and words in refused.text, email
    assert queued(site) == []
    # Another account's address: the same answer as for a free one, but that address gets
    # no link (it could never be confirmed); the owner is still told of the attempt.
    taken = ask(client, "bob@example.org")
    assert taken.status_code == 303 and taken.headers["location"] == "/settings?m=email-change-sent"
    assert [(m.recipient, m.name) for m in queued(site)] == [
        ("ada@example.org", "email_change_requested")]


def test_a_change_needs_a_session_and_a_form_from_this_site(site: Site, client: TestClient) -> None:
    make_user(site, "ada")
    log_in(client, "ada@example.org")
    forged = client.post("/settings/email", data={"email": "x@example.org",
                                                  "current": PASSWORD}, follow_redirects=False)
    assert forged.status_code == 403 and queued(site) == []
    client.cookies.clear()
    anonymous = post(client, "/settings/email", {"email": "x@example.org", "current": PASSWORD})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert queued(site) == []


def test_an_address_taken_in_between_is_a_clear_refusal(site: Site, client: TestClient,
                                                         monkeypatch: Any) -> None:
    """Two accounts confirming the same new address at once: the check before the write
    sees it free in both, the database's unique address stops the second; that one gets
    the link-expired page (400), not a 500, and nothing of it is written."""
    ada = make_user(site, "ada")
    log_in(client, "ada@example.org")
    ask(client, "shared@example.org")
    link = queued(site)[0]
    make_user(site, "bob")
    with write_transaction(site.engine) as conn:  # bob moves to the address first
        assert change_email(conn, get_user_by_email(conn, "bob@example.org").id,
                            "bob@example.org", "shared@example.org")
    # ada's confirmation ran its check before bob's commit: it saw the address free.
    monkeypatch.setattr(users_module, "get_user_by_email", lambda conn, email: None)
    path = link.context["url"].removeprefix("http://testserver")
    refused = post(client, path, page=path)
    assert refused.status_code == 400 and "Another account uses that address" in refused.text
    with site.engine.connect() as conn:
        assert get_user(conn, ada.id).email == "ada@example.org"
