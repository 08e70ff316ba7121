"""Pure-Python batch work of ``paperfeed index`` spread over the machine's cores.

Two of the index steps are CPU-bound Python holding the GIL: TL;DR + keyword candidates
(index/summaries.py) and the similar-papers lists (rank/similar_lists.py, TF-IDF "more like
this"). Run in one process they use one core of the machine while the other idles
(docs/benchmarks.md, "What stands between `paperfeed index` and 6x").
``ordered_map(task, items)`` runs ``task`` over ``items`` in forked worker processes and
yields each item with its result in the order of ``items``, a bounded number of items ahead, so the
caller's database writes (and anything else it does per result) stay in its own process,
in order, exactly as the sequential loop did them.

Fork, so the workers inherit what the caller loaded (vectors, postings, caches) without
copying or pickling it. The rule that makes fork safe here: a task never touches the
database. The caller reads what a task needs and passes it in the item; the inherited
connections of the parent are never used by a worker, and the workers leave through
``os._exit`` (multiprocessing's fork start), which runs no finalizer that could close a
connection the parent still uses. A worker that dies raises BrokenProcessPool in the
caller instead of leaving it waiting. Each worker limits its BLAS library to one thread: the
workers are the parallelism.

One process (no fork) when there is one core, one item, or no fork on this platform; the
results are the same either way (tests compare the two).
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from paperfeed.config import usable_cores

Item = TypeVar("Item")
Result = TypeVar("Result")

# The task of the pool being created: set just before the fork, so each worker inherits it
# (a closure is fine: it is never pickled). One pool at a time per process.
_TASK: Callable[[Any], Any] | None = None


def _start_worker() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _run(item: Any) -> Any:
    assert _TASK is not None
    return _TASK(item)


def ordered_map(task: Callable[[Item], Result], items: Iterable[Item], *,
                workers: int | None = None, ahead: int = 2
                ) -> Iterator[tuple[Item, Result]]:
    """``(item, task(item))`` for each item, in order (the item is the caller's own object,
    never a copy sent back by a worker). With ``workers`` > 1 (default: one per
    core) the calls run in that many forked processes, up to ``ahead`` items per worker
    submitted before their results are taken; ``items`` is consumed lazily in the
    caller's thread. ``task`` must not use the database (module docstring); items and
    results must pickle. An exception of a task is raised here, and stops the workers; so
    does a worker's death (``concurrent.futures.process.BrokenProcessPool``).
    """
    global _TASK
    count = usable_cores() if workers is None else workers
    source = iter(items)
    head = list(itertools.islice(source, 2))
    if (count < 2 or len(head) < 2 or sys.platform != "linux"
            or "fork" not in multiprocessing.get_all_start_methods()):
        for item in itertools.chain(head, source):
            yield item, task(item)
        return
    if _TASK is not None:
        raise RuntimeError("ordered_map: another pool of this process is running")
    # An executor rather than multiprocessing.Pool: a worker that dies (killed, out of
    # memory) breaks it and raises BrokenProcessPool here, where a Pool would wait forever
    # for the lost result. With fork, it starts every worker at the first submit.
    _TASK = task
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start_worker)
    pending: deque[tuple[Item, Future[Any]]] = deque()
    try:
        for item in itertools.chain(head, source):
            pending.append((item, pool.submit(_run, item)))
            if len(pending) >= count * ahead:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        _TASK = None
        # An exception, or a caller that stopped early: items not started are dropped,
        # the ones running finish (one batch each), and no worker is left.
        pool.shutdown(wait=True, cancel_futures=True)
