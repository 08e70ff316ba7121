"""`paperfeed serve --workers N` forks its web workers from a supervisor that has imported
their modules (cli/preload.py): they share those pages, start with the default signal
handlers, and a killed worker is replaced by another forked one; glibc malloc is set up
for a threaded server (two arenas, large blocks always mapped)."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from paperfeed.cli.preload import MALLOC_SETTINGS, POSTGRES_PRELOAD, PRELOAD, preload

from .test_ops_metrics import start_serve

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def workers(supervisor: int) -> list[int]:
    """The supervisor's children that serve (not multiprocessing's helpers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == supervisor and b"resource_tracker" not in cmdline:
            found.append(int(stat.parent.name))
    return sorted(found)


def caught_signals(pid: int) -> int:
    """The mask of signals the process has a handler for (SigCgt)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigCgt")


def bit(sig: signal.Signals) -> int:
    return 1 << (sig - 1)


def wait_for(condition, timeout: float = 90.0):  # noqa: ANN001, ANN201 - a test helper
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_preload_imports_what_a_worker_imports(settings):
    names = preload(settings.database_url)
    assert set(PRELOAD) <= set(names) <= set(PRELOAD) | set(POSTGRES_PRELOAD)
    assert all(name in sys.modules for name in names)
    assert "paperfeed.web.pages.search" in sys.modules  # every page router
    assert "onnxruntime" not in names  # it starts threads: imported after the fork


def test_serve_forks_its_workers_and_replaces_a_killed_one(settings, tmp_path):
    server, base = start_serve(settings, tmp_path, workers=2)
    try:
        first = wait_for(lambda: (found := workers(server.pid)) and len(found) == 2 and found)
        own = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        for pid in first:
            # forked: the supervisor's command line, not multiprocessing's spawn_main
            assert Path(f"/proc/{pid}/cmdline").read_bytes() == own
            # SIGHUP has the default handler in a worker, the supervisor's in the supervisor
            assert not caught_signals(pid) & bit(signal.SIGHUP)
            assert caught_signals(pid) & bit(signal.SIGTERM)  # uvicorn's graceful shutdown
        assert caught_signals(server.pid) & bit(signal.SIGHUP)
        os.kill(first[0], signal.SIGKILL)
        replaced = wait_for(lambda: (found := workers(server.pid)) and len(found) == 2
                            and first[0] not in found and found)
        new = (set(replaced) - set(first)).pop()
        assert Path(f"/proc/{new}/cmdline").read_bytes() == own
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=10).status_code == 200)
        for _ in range(6):  # fresh connections: both workers answer
            with httpx.Client(timeout=30) as fresh:
                assert fresh.get(f"{base}/").status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    assert server.returncode == 0, output


MALLOC_PROBE = """
import ctypes, sys
from paperfeed.cli.preload import forked_workers, tune_malloc
applied = tune_malloc() if sys.argv[1] == "tuned" else []
if sys.argv[1] == "serve":  # what `serve --workers N` does before starting its workers
    forked_workers(sys.argv[2]).__enter__()
libc = ctypes.CDLL(None)
libc.sbrk.restype = ctypes.c_void_p
big = bytearray(8 << 20)
del big  # freeing a mapped block raises glibc's dynamic threshold to its size
start = libc.sbrk(0)
block = bytearray(4 << 20)  # then a 4 MiB block comes from the heap, unless the threshold is fixed
print(",".join(applied), libc.sbrk(0) - start)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_tune_malloc_keeps_large_blocks_out_of_the_heap(settings):
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_SETTINGS}

    def probe(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", MALLOC_PROBE, mode, settings.database_url],
                             env=env, check=True, capture_output=True, text=True).stdout.split()
        return (out[0], int(out[1])) if len(out) == 2 else ("", int(out[0]))

    assert probe("default")[1] >= 3 << 20  # glibc's default: the heap grew by the block
    applied, grown = probe("tuned")
    assert applied == ",".join(MALLOC_SETTINGS) and grown < 1 << 20
    assert probe("serve")[1] < 1 << 20
    env["MALLOC_ARENA_MAX"] = "4"  # the operator's own setting wins
    assert probe("tuned")[0] == "MALLOC_MMAP_THRESHOLD_"


def test_serve_with_one_worker_tunes_malloc_too(settings, monkeypatch):
    """One worker means this process serves: it gets the malloc settings that forked
    workers inherit (heap_trim's two arenas assume them)."""
    import uvicorn
    from click.testing import CliRunner

    from paperfeed.cli import main as cli_main
    from paperfeed.cli import ops

    for name in ("PAPERFEED_DATABASE_URL", "PAPERFEED_TRUSTED_PROXIES"):
        monkeypatch.setenv(name, "")  # serve sets them for its workers; restored afterwards
    calls: list[str] = []
    monkeypatch.setattr(ops, "tune_malloc", lambda: calls.append("tune_malloc") or [])
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append("serve"))
    result = CliRunner().invoke(cli_main, ["serve", "--db", settings.database_url,
                                           "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert calls == ["tune_malloc", "serve"]
