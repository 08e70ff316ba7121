"""Password hashing: argon2id, never inside a write transaction, a bounded number at once.

One argon2id hash (RFC 9106's second parameter set) takes 64 MiB and about a tenth of a
second of a core. Callers hash and verify *before* they open a write transaction, so
SQLite's write lock is never held for a hash, and at most :data:`HASH_SLOTS` hashes run at
once in a process (one per core): a burst of log-ins waits its turn instead of exhausting
memory. Pure functions of their arguments; nothing here touches the database.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from paperfeed.config import usable_cores

MAX_PASSWORD = 1024
HASH_SLOTS = usable_cores()
_slots = threading.BoundedSemaphore(HASH_SLOTS)

# argon2id (the library default type) with RFC 9106's second recommended parameter set.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
# Verified against when the email is unknown, so that both answers take as long.
_DUMMY_HASH = _hasher.hash("paperfeed-no-such-user-dummy-password")


def hash_password(password: str) -> str:
    """An argon2id encoded hash of ``password`` (waits for a free hashing slot)."""
    with _slots:
        return _hasher.hash(password[:MAX_PASSWORD])


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the encoded hash ``stored``. ``None`` (no such account)
    is checked against a dummy hash, so that it costs the same and is always False."""
    with _slots:
        try:
            _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return stored is not None


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
