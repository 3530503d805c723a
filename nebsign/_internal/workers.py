"""The worker pools that run hashing batches: threads for the C loop, processes for Python.

:class:`Threads` runs a batch function that releases the GIL (the C loop of
:mod:`nebsign._speedups`) in plain threads; :class:`Processes` runs the
pure-Python loop in forked worker processes. Both take jobs as
``(keys, batch)`` and yield ``(keys, results)`` in completion order; the
caller (:mod:`nebsign._internal.hashpool`) puts results back in input order.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Processes", "Threads", "worker_count"]

_SWITCH_INTERVAL = 0.0005  # seconds; see Threads

Keys = list[tuple[int, int]]
Work = Callable[[Any], list[Any]]


_switching_lock = threading.Lock()
_switching_users = 0
_saved_interval = 0.0


def _fast_switching(on: bool) -> None:
    """Shorten the GIL switch interval while any pool of C-loop threads runs.

    A worker ending a batch needs the GIL for a moment; while another thread
    runs Python it would wait up to the switch interval (5 ms by default)
    with its core idle. Counted, so overlapping pools restore it once.
    """
    global _switching_users, _saved_interval
    with _switching_lock:
        if on:
            if _switching_users == 0:
                _saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(_saved_interval, _SWITCH_INTERVAL))
            _switching_users += 1
        else:
            _switching_users -= 1
            if _switching_users == 0:
                sys.setswitchinterval(_saved_interval)


class Threads:
    """Threads running the C loop: jobs in, (keys, results) out, in completion order.

    Deliberately minimal (a SimpleQueue each way): ``concurrent.futures``
    and the ``logging`` it imports would add ~8 ms to every command's start.
    """

    def __init__(self, count: int, work: Work) -> None:
        _fast_switching(True)
        self._jobs: queue.SimpleQueue[tuple[Keys, Any] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Keys, Any, BaseException | None]] = queue.SimpleQueue()
        self._pending = 0
        self._threads = [
            threading.Thread(target=self._run, args=(work,), name="nebsign-hash", daemon=True)
            for _ in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, work: Work) -> None:
        while (job := self._jobs.get()) is not None:
            keys, batch = job
            try:
                self._done.put((keys, work(batch), None))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self._done.put((keys, None, exc))

    def submit(self, keys: Keys, batch: Any) -> None:
        self._pending += 1
        self._jobs.put((keys, batch))

    def results(self) -> Iterator[tuple[Keys, list[Any]]]:
        while self._pending:
            keys, results, exc = self._done.get()
            self._pending -= 1
            if exc is not None:
                raise exc
            yield keys, results

    def shutdown(self) -> None:
        """Drop jobs not yet started, let running ones end, join the threads."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._jobs.get_nowait()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        _fast_switching(False)


class Processes:
    """Worker processes running the pure-Python loop (where the C loop is not built)."""

    def __init__(self, count: int, work: Work) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._work = work
        self._pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"))
        self._submitted: dict[Any, Keys] = {}

    def submit(self, keys: Keys, batch: Any) -> None:
        self._submitted[self._pool.submit(self._work, batch)] = keys

    def results(self) -> Iterator[tuple[Keys, list[Any]]]:
        from concurrent.futures import as_completed

        submitted, self._submitted = self._submitted, {}
        for fut in as_completed(submitted):
            yield submitted[fut], fut.result()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def worker_count() -> int:
    """Processes to use: ``NEBSIGN_JOBS`` if set, else the CPUs this process may run on."""
    env = os.environ.get("NEBSIGN_JOBS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
