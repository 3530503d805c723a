"""Parallel hashing of many files, fed in batches.

Part of the one hashing path (:mod:`nebsign.digest`); see ADR 0001. For small
files the per-file overhead, not SHA-256, is the cost, so the worker loop is
tight and results travel back packed. Two interchangeable backends run the
same loop: the C extension :mod:`nebsign._speedups` in threads (it releases
the GIL for a whole batch; ADR 0005), or, where it was not built or
``NEBSIGN_PURE_PYTHON`` is set, :func:`_hash_group_batch` in worker processes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from nebsign._internal import native
from nebsign._internal.hashloops import (
    _Group,
    _GroupResult,
    _hash_group_batch,
    _hash_group_batch_c,
)
from nebsign.digest import FileDigest, Progress
from nebsign.errors import InputError

__all__ = [
    "GroupHasher",
    "Packed",
    "Piece",
    "c_loop_available",
    "first_error",
    "hash_groups",
    "worker_count",
]

_BATCH = 2048  # files per worker task
_SWITCH_INTERVAL = 0.0005  # seconds; see _Threads
_PARALLEL_MIN_FILES = 256  # below this, starting workers costs more than it saves


#: Per group, as callers get it: sizes, hex digests concatenated (64 characters
#: each), one byte per file (1 = any execute bit set).
Packed = tuple[list[int], str, bytes]
_speedups = native.module
c_loop_available = native.available


_Keys = list[tuple[int, int]]
_Work = Callable[[Sequence[_Group]], list[_GroupResult]]


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


class _Threads:
    """Threads running the C loop: jobs in, (keys, results) out, in completion order.

    Deliberately minimal (a SimpleQueue each way): ``concurrent.futures``
    and the ``logging`` it imports would add ~8 ms to every command's start.
    """

    def __init__(self, count: int, work: _Work) -> None:
        _fast_switching(True)
        self._jobs: queue.SimpleQueue[tuple[_Keys, Any] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[_Keys, Any, BaseException | None]] = queue.SimpleQueue()
        self._pending = 0
        self._threads = [
            threading.Thread(target=self._run, args=(work,), name="nebsign-hash", daemon=True)
            for _ in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, work: _Work) -> None:
        while (job := self._jobs.get()) is not None:
            keys, batch = job
            try:
                self._done.put((keys, work(batch), None))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self._done.put((keys, None, exc))

    def submit(self, keys: _Keys, batch: Any) -> None:
        self._pending += 1
        self._jobs.put((keys, batch))

    def results(self) -> Iterator[tuple[_Keys, list[_GroupResult]]]:
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


class _Processes:
    """Worker processes running the pure-Python loop (where the C loop is not built)."""

    def __init__(self, count: int, work: _Work) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._work = work
        self._pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork"))
        self._submitted: dict[Any, _Keys] = {}

    def submit(self, keys: _Keys, batch: Any) -> None:
        self._submitted[self._pool.submit(self._work, batch)] = keys

    def results(self) -> Iterator[tuple[_Keys, list[_GroupResult]]]:
        from concurrent.futures import as_completed

        submitted, self._submitted = self._submitted, {}
        for fut in as_completed(submitted):
            yield submitted[fut], fut.result()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Piece(NamedTuple):
    """Results for part of one group: ``names[offset:offset + len(sizes)]`` of group ``group``.

    ``errors`` maps an index within the piece to the message for a file that
    could not be hashed (its size is -1 and digest zeros).
    """

    group: int
    offset: int
    sizes: list[int]
    hexes: str
    execs: bytes
    errors: dict[int, str]
    #: Set instead of sizes/hexes/execs when the C loop built the entries.
    entries: tuple[Any, ...] | None = None
    #: The entries' JSON, when the C loop built it (UTF-8, ``files_json`` form).
    json: bytes | None = None

    @property
    def files(self) -> int:
        """Files in the piece."""
        return len(self.entries) if self.entries is not None else len(self.sizes)


def first_error(pieces: Iterable[Piece]) -> None:
    """Raise :class:`InputError` for the first unreadable file in input order, if any."""
    bad = [(p.group, p.offset + min(p.errors), p.errors[min(p.errors)]) for p in pieces if p.errors]
    if bad:
        raise InputError(min(bad)[2])


def worker_count() -> int:
    """Processes to use: ``NEBSIGN_JOBS`` if set, else the CPUs this process may run on."""
    env = os.environ.get("NEBSIGN_JOBS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class GroupHasher:
    """Digest files given as (directory, names) groups, in worker threads or processes.

    :meth:`feed` walks the (possibly lazy) groups and hands batches to the
    workers as they fill, then returns at once; :meth:`completed` yields
    pieces of groups as they are done, and :meth:`finish` waits and returns,
    per group, ``(sizes, hexes, execs)`` (the hex digests concatenated, 64
    characters each, so callers create no object per file here). Between
    feeding and finishing the caller's thread is free. Small inputs are
    hashed in this thread. Use as a context manager so the pool is always
    shut down.

    With *entry_type* (a 4-field tuple type: path, size, sha256, executable)
    and groups fed as ``(directory, names, prefix)``, the C loop also builds
    each piece's entries and their JSON (:attr:`Piece.entries`,
    :attr:`Piece.json`); the pure-Python loop leaves that to the caller.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        progress: Progress | None = None,
        entry_type: type | None = None,
    ) -> None:
        self._workers = worker_count() if workers is None else max(1, workers)
        self._progress = progress
        self._pieces: dict[tuple[int, int], _GroupResult] = {}
        self._pending: list[tuple[int, int, _Group]] = []
        self._pending_files = 0
        self._pool: _Threads | _Processes | None = None
        self._threaded = c_loop_available()
        self._work: _Work = (
            functools.partial(_hash_group_batch_c, entry_type=entry_type)
            if self._threaded
            else _hash_group_batch
        )
        self._count = 0
        self._ngroups = 0

    def __enter__(self) -> GroupHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _store(self, keys: list[tuple[int, int]], results: list[_GroupResult]) -> None:
        for key, res in zip(keys, results, strict=True):
            self._pieces[key] = res

    def _flush(self, final: bool) -> None:
        batch, self._pending, self._pending_files = self._pending, [], 0
        if not batch:
            return
        keys = [(gi, off) for gi, off, _ in batch]
        work = [group for _, _, group in batch]
        if self._pool is None and (
            self._workers == 1 or (final and self._count < _PARALLEL_MIN_FILES)
        ):
            self._store(keys, self._work(work))
            return
        if self._pool is None:
            self._pool = self._start_pool()
        self._pool.submit(keys, work)

    def _start_pool(self) -> _Threads | _Processes:
        if self._threaded:
            return _Threads(self._workers, self._work)
        return _Processes(self._workers, self._work)

    def feed(
        self,
        groups: Iterable[
            tuple[str, Sequence[str]]
            | tuple[str, Sequence[str], str]
            | tuple[str, Sequence[str], str, bytes]
        ],
    ) -> None:
        """Consume *groups* and start hashing them; returns before hashing ends.

        A group's optional fourth item is the files' expected sizes (packed
        int64, see ``_Group``): a file of another size is not read.
        """
        for group in groups:
            directory, names = group[0], group[1]
            prefix = group[2] if len(group) > 2 else None
            expected = group[3] if len(group) > 3 else None
            gi = self._ngroups
            self._ngroups += 1
            self._count += len(names)
            for off in range(0, len(names), _BATCH):
                chunk = names[off : off + _BATCH]
                item: _Group = (directory, chunk, prefix)
                if expected is not None:
                    item = (directory, chunk, prefix, expected[8 * off : 8 * (off + len(chunk))])
                self._pending.append((gi, off, item))
                self._pending_files += len(chunk)
                if self._pending_files >= _BATCH:
                    self._flush(final=False)
        self._flush(final=True)

    def completed(self) -> Iterator[Piece]:
        """Each piece of a group as its batch completes (in completion order).

        The caller's thread can work on a piece while the workers hash the
        rest. A piece with errors is yielded like any other; see
        :func:`first_error`.
        """
        for (gi, off), res in self._ready():
            piece = Piece(gi, off, *res)
            if self._progress is not None:
                self._progress(piece.files)
            yield piece

    def _ready(self) -> Iterator[tuple[tuple[int, int], _GroupResult]]:
        pieces, self._pieces = self._pieces, {}
        yield from pieces.items()
        if self._pool is not None:
            for keys, results in self._pool.results():
                yield from zip(keys, results, strict=True)

    def finish(self) -> list[Packed]:
        """Wait for every batch; per group (sizes, hexes, execs), in feed order.

        The first unreadable file (in input order) raises :class:`InputError`.
        """
        pieces = sorted(self.completed())
        first_error(pieces)
        out: list[Packed] = [([], "", b"") for _ in range(self._ngroups)]
        for gi, off, sizes, hexes, execs, *_ in pieces:
            if off:
                prev_sizes, prev_hexes, prev_execs = out[gi]
                out[gi] = (prev_sizes + sizes, prev_hexes + hexes, prev_execs + execs)
            else:
                out[gi] = (sizes, hexes, execs)
        return out


def hash_groups(
    groups: Iterable[tuple[str, Sequence[str]]],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[list[FileDigest]]:
    """:class:`FileDigest` lists per (directory, names) group; see :class:`GroupHasher`."""
    with GroupHasher(workers=workers, progress=progress) as hasher:
        hasher.feed(groups)
        packed = hasher.finish()
    return [
        [FileDigest(size, hexes[64 * i : 64 * i + 64]) for i, size in enumerate(sizes)]
        for sizes, hexes, _ in packed
    ]
