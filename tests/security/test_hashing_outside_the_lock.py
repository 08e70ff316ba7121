"""Issue 11 item 6: argon2 runs outside the write lock, a bounded number at once.

A hash takes 64 MiB and ~0.1 s of a core. Done inside a write transaction it held SQLite's
write lock (and a PostgreSQL transaction) for that long, so a burst of log-ins stalled every
writer; unbounded, a burst of them could exhaust memory."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from paperfeed.store import passwords

from ..factories import CSRF_FIELD, PASSWORD, Site, log_in, make_user, post, served

pytestmark = pytest.mark.corpus("none")


def nothing_held(engine: Engine) -> bool:
    """No write lock (SQLite) and no open transaction of the app (PostgreSQL) right now."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # database is locked
            return False
        finally:
            other.close()
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar() == 0


class WatchingHasher:
    """The real hasher, noting for each hash / verification whether the database was free,
    and how many ran at once."""

    def __init__(self, real: Any, engine: Engine, pause: float = 0.0) -> None:
        self.real, self.engine, self.pause = real, engine, pause
        self.free: list[bool] = []
        self.running = self.most = 0
        self.lock = threading.Lock()

    def _watch(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.free.append(nothing_held(self.engine))
        time.sleep(self.pause)
        with self.lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._watch()
        return str(self.real.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        self._watch()
        return bool(self.real.verify(stored, password))

    def check_needs_rehash(self, stored: str) -> bool:
        return bool(self.real.check_needs_rehash(stored))


def test_no_hash_runs_inside_a_write_transaction(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    make_user(site, "owner")
    watching = WatchingHasher(passwords._hasher, site.engine)
    monkeypatch.setattr(passwords, "_hasher", watching)
    with TestClient(site.app) as client:
        for email in ("owner@example.org", "new@example.org"):  # known and unknown address
            assert post(client, "/signup", {"username": f"u{len(email)}", "email": email,
                                            "password": PASSWORD}, page="/signup"
                        ).status_code == 200
        log_in(client, "owner@example.org")  # verify (+ session row)
        changed = post(client, "/settings/password", {"current": PASSWORD,
                       "password": "a second password"}, page="/settings")
        assert changed.status_code == 303
        post(client, "/reset", {"email": "owner@example.org"}, page="/reset")
        url = site.outbox.last("password_reset", "owner@example.org")["url"]
        path = url.removeprefix("http://testserver")
        assert post(client, path, {"password": "a third password"}, page=path
                    ).status_code == 303
    assert len(watching.free) >= 6 and all(watching.free), watching.free


def test_a_burst_of_log_ins_hashes_at_most_one_per_core(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(os.sched_getaffinity(0)) == passwords.HASH_SLOTS
    people = [make_user(site, f"user{i}") for i in range(6)]
    watching = WatchingHasher(passwords._hasher, site.engine, pause=0.3)
    monkeypatch.setattr(passwords, "_hasher", watching)
    monkeypatch.setattr(passwords, "_slots", threading.BoundedSemaphore(2))
    codes: list[int] = []

    def log_in_over_http(base: str, email: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            token = CSRF_FIELD.search(http.get("/login").text)
            assert token
            response = http.post("/login", data={"email": email, "password": PASSWORD,
                                                 "csrf_token": token.group(1), "next": "/"})
            codes.append(response.status_code)

    with served(site.app) as base:
        threads = [threading.Thread(target=log_in_over_http, args=(base, p.email))
                   for p in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(codes) == [303] * 6  # everyone got in (redirects are not followed)
    assert watching.most == 2  # they queued for the two slots instead of all hashing at once
