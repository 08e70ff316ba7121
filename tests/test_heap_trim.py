"""A web server process gives the memory its requests freed back to the system."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
import threading

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim")

PROBE = """
import os, sys
from pathlib import Path
from paperfeed.web.heap_trim import trim_heap

def resident():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

blocks = [bytearray(64 << 10) for _ in range(800)]  # 50 MiB of heap, below the mmap threshold
pinned = bytearray(64 << 10)  # in use above them: free() alone cannot shrink the heap
del blocks
before = resident()
released = trim_heap() if sys.argv[1] == "trim" else False
print(int(released), (before - resident()) >> 20)
"""


def probe(mode: str) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], check=True, capture_output=True,
                         text=True).stdout.split()
    return bool(int(out[0])), int(out[1])


def test_trim_gives_freed_heap_memory_back():
    assert probe("keep")[1] < 10  # freed, yet still resident
    released, mib = probe("trim")
    assert released and mib > 30


def test_server_processes_trim_periodically(settings, monkeypatch, tmp_path):
    from paperfeed.app import app_from_environment

    for name, value in {"PAPERFEED_DATABASE_URL": settings.database_url,
                        "PAPERFEED_CACHE_DIR": settings.cache_dir,
                        "PAPERFEED_SECRET_KEY": settings.secret_key,
                        "PAPERFEED_EMBEDDING_BACKEND": "hashing",
                        "PAPERFEED_CONFIG": str(tmp_path / "none.toml")}.items():
        monkeypatch.setenv(name, value)
    app = app_from_environment()
    app.state.warm_up.join(timeout=60)
    trimmer = app.state.heap_trimmer
    assert isinstance(trimmer, threading.Thread) and trimmer.daemon and trimmer.is_alive()
    assert trimmer.name == "paperfeed-heap-trim"
    freezer = app.state.gc_freezer  # web/long_lived.py: after the warm-up, gc.freeze()
    try:
        freezer.join(timeout=60)
        assert freezer.name == "paperfeed-gc-freeze" and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
