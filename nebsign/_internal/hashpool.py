"""Parallel hashing of many files, fed in batches.

Part of the one hashing path (:mod:`nebsign.digest`); see ADR 0001. For small
files the per-file overhead, not SHA-256, is the cost, so the worker loop is
tight and results travel back packed. Two interchangeable backends run the
same loop: the C extension :mod:`nebsign._speedups` in threads (it releases
the GIL for a whole batch; ADR 0005), or, where it was not built or
``NEBSIGN_PURE_PYTHON`` is set, :func:`_hash_group_batch` in worker processes.
The loops are in :mod:`nebsign._internal.hashloops`, the pools in
:mod:`nebsign._internal.workers`; nothing here imports :mod:`nebsign.digest`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from nebsign._internal import native
from nebsign._internal.fdhash import FileDigest, Progress
from nebsign._internal.hashloops import (
    _Group,
    _GroupResult,
    _hash_group_batch,
    _hash_group_batch_c,
)
from nebsign._internal.workers import Processes, Threads, worker_count
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
_SWITCH_INTERVAL = 0.0005  # seconds; see Threads
_PARALLEL_MIN_FILES = 256  # below this, starting workers costs more than it saves


#: Per group, as callers get it: sizes, hex digests concatenated (64 characters
#: each), one byte per file (1 = any execute bit set).
Packed = tuple[list[int], str, bytes]
_speedups = native.module
c_loop_available = native.available


_Work = Callable[[Sequence[_Group]], list[_GroupResult]]


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
        self._pool: Threads | Processes | None = None
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

    def _start_pool(self) -> Threads | Processes:
        if self._threaded:
            return Threads(self._workers, self._work)
        return Processes(self._workers, self._work)

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
