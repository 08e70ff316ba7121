"""index/forked.py: batch work of `paperfeed index` in forked workers, results in order."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from paperfeed.index.forked import ordered_map


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_come_in_order_from_other_processes():
    items = list(range(40))
    pairs = list(ordered_map(_square_and_pid, items, workers=2))
    assert [item for item, _ in pairs] == items
    assert [square for _, (square, _) in pairs] == [x * x for x in items]
    pids = {pid for _, (_, pid) in pairs}
    assert os.getpid() not in pids  # computed by workers, not here
    assert multiprocessing.active_children() == []  # the pool is gone


def test_items_are_the_callers_own_objects_and_read_lazily():
    read = 0

    def items() -> Iterator[list[int]]:
        nonlocal read
        for x in range(100):
            read += 1
            yield [x]

    results = ordered_map(lambda item: item[0] + 1, items(), workers=2, ahead=2)
    item, result = next(results)
    assert item == [0] and result == 1
    assert read <= 2 * 2  # a bounded number of items ahead, not the whole input
    rest = list(results)
    assert [r for _, r in rest] == list(range(2, 101))
    assert read == 100


def test_a_task_error_is_raised_and_stops_the_workers():
    def task(x: int) -> int:
        if x == 5:
            raise ValueError(f"bad item {x}")
        return x

    with pytest.raises(ValueError, match="bad item 5"):
        list(ordered_map(task, range(30), workers=2))
    assert multiprocessing.active_children() == []


def test_a_caller_stopping_early_leaves_no_worker():
    results = ordered_map(_square_and_pid, range(50), workers=2)
    next(results)
    results.close()
    assert multiprocessing.active_children() == []


def test_one_worker_or_one_item_runs_here():
    assert {pid for _, (_, pid) in ordered_map(_square_and_pid, range(5), workers=1)} \
        == {os.getpid()}
    assert [pid for _, (_, pid) in ordered_map(_square_and_pid, [3], workers=2)] \
        == [os.getpid()]
    assert list(ordered_map(_square_and_pid, [], workers=2)) == []


def _die_on_seven(x: int) -> int:
    if x == 7:
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
    return x


def test_a_worker_that_dies_is_an_error_not_a_hang():
    outcome: list[BaseException | None] = []

    def consume() -> None:
        try:
            list(ordered_map(_die_on_seven, range(40), workers=2))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    runner = threading.Thread(target=consume, daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive(), "ordered_map waited forever for a dead worker"
    assert isinstance(outcome[0], BrokenProcessPool)
    assert multiprocessing.active_children() == []
