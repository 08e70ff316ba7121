"""A web server process freezes its start-up objects out of the cyclic GC's passes once its
warm-up is over (web/long_lived.py), so a full collection no longer stops the event loop
for tens of milliseconds."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from paperfeed.web.long_lived import freeze_after


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_objects_are_frozen_only_after_the_start_up(unfrozen: None) -> None:
    warm = threading.Event()
    startup = threading.Thread(target=warm.wait, daemon=True)
    startup.start()
    freezer = freeze_after(startup)
    freezer.join(timeout=0.2)
    assert freezer.is_alive() and gc.get_freeze_count() == 0  # still warming up
    warm.set()
    freezer.join(timeout=30)
    assert not freezer.is_alive() and freezer.daemon
    assert gc.get_freeze_count() > 1000  # the whole process: modules, functions, ...
    before = gc.get_freeze_count()
    later = [[i] for i in range(100)]
    assert gc.get_freeze_count() == before and all(gc.is_tracked(x) for x in later)


def test_without_a_start_up_thread_it_freezes_at_once(unfrozen: None) -> None:
    freeze_after(None).join(timeout=30)
    assert gc.get_freeze_count() > 1000
