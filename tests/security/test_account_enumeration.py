"""Issue 11 item 5: no account enumeration.

Sign-up, log-in and password reset answer a known address exactly as they answer an
unknown one (same status, same page but for the address typed, the same argon2 work),
whatever else is wrong with the form: every field is judged before the address is looked
up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from paperfeed.store import passwords
from paperfeed.store.database import write_transaction
from paperfeed.store.users import set_user_disabled

from ..factories import PASSWORD, Site, make_user, post

pytestmark = pytest.mark.corpus("none")
KNOWN, UNKNOWN = "owner@example.org", "stranger@example.org"


class CountingHasher:
    """The real argon2 hasher, counting its hashes and verifications."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def hash(self, password: str) -> str:
        self.calls += 1
        return str(self.real.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        self.calls += 1
        return bool(self.real.verify(stored, password))

    def check_needs_rehash(self, stored: str) -> bool:
        return bool(self.real.check_needs_rehash(stored))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    yield counting


def answer(client: TestClient, hasher: CountingHasher, path: str, form: dict[str, str],
           address: str, page: str) -> tuple[int, str, int]:
    """(status, page with the address blanked out, argon2 operations) of one POST."""
    before = hasher.calls
    response = post(client, path, {**form, "email": address}, page=page)
    return response.status_code, response.text.replace(address, "ADDRESS"), \
        hasher.calls - before


SIGN_UPS = {
    "a malformed username": {"username": "x"},
    "a reserved username": {"username": "admin"},
    "a taken username": {"username": "taken"},
    "a weak password": {"password": "short"},
    "a bad invite": {"invite": "no-such-invite"},
    "nothing wrong": {},
}


@pytest.mark.parametrize("mistake", SIGN_UPS)
def test_sign_up_answers_a_known_address_like_an_unknown_one(
        site: Site, client: TestClient, hasher: CountingHasher, mistake: str) -> None:
    make_user(site, "owner")
    make_user(site, "taken")
    form = {"username": "newcomer", "password": PASSWORD, **SIGN_UPS[mistake]}
    path = "/signup" + (f"?invite={form.pop('invite')}" if "invite" in form else "")
    known = answer(client, hasher, path, form, KNOWN, "/signup")
    unknown = answer(client, hasher, path, form, UNKNOWN, "/signup")
    assert known == unknown, mistake
    assert known[0] == (200 if mistake == "nothing wrong" else 400)
    assert known[2] == (1 if mistake == "nothing wrong" else 0)  # the same argon2 work


def test_log_in_and_reset_answer_alike(site: Site, client: TestClient,
                                        hasher: CountingHasher) -> None:
    make_user(site, "owner")
    disabled = make_user(site, "gone")
    with write_transaction(site.engine) as conn:
        set_user_disabled(conn, disabled.id, True)
    wrong = {"password": "not the password", "next": "/"}
    known = answer(client, hasher, "/login", wrong, KNOWN, "/login")
    unknown = answer(client, hasher, "/login", wrong, UNKNOWN, "/login")
    assert known == unknown and known[0] == 400 and known[2] == 1
    # a disabled account with its right password answers like a wrong password
    gone = answer(client, hasher, "/login", {"password": PASSWORD, "next": "/"},
                  "gone@example.org", "/login")
    assert gone == known
    known = answer(client, hasher, "/reset", {}, KNOWN, "/reset")
    unknown = answer(client, hasher, "/reset", {}, UNKNOWN, "/reset")
    assert known == unknown and known[0] == 200
    assert site.outbox.last("password_reset", KNOWN)
