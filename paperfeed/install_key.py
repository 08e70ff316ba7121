"""The per-install secret key: random, generated once, kept with mode 0600 in the data dir.

paperfeed signs sessions' CSRF tokens, email links (verify, reset, confirm, unsubscribe,
manage) and personal feed URLs with ``secret_key``. A key everyone knows (the development
default that ships in the source) would let anyone forge those links on any instance that
kept it, so when no key is configured paperfeed makes one for this installation instead.
The web server, the worker and the CLI read the same file, so links they sign agree.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger("paperfeed")

KEY_FILE = "secret_key"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    """True when a server bound to ``host`` is reachable from this machine only."""
    import ipaddress

    host = host.strip().strip("[]")
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_key(directory: str | Path) -> str:
    """The key stored in ``directory/secret_key``, created (64 hex characters, mode 0600,
    logged once) if there is none. Safe when several processes start at once: the first
    file linked into place wins and everyone reads it."""
    path = Path(directory) / KEY_FILE
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    temp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # atomic and never overwrites a key another process wrote
        except FileExistsError:
            return _read(path) or key
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    log.warning("No secret key configured: generated a random per-install key in %s (mode "
                "0600). Keep it: links already sent are signed with it. Set "
                "PAPERFEED_SECRET_KEY to choose your own.", path)
    return key


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.chmod(path, 0o600)  # nobody else on the machine may read it
        key = path.read_text().strip()
    except FileNotFoundError:
        return ""
    return key if len(key) >= 32 else ""
