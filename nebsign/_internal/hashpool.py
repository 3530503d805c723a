"""Parallel hashing of many files, fed in batches.

Part of the one hashing path (:mod:`nebsign.digest`); see ADR 0001. For small
files the per-file overhead, not SHA-256, is the cost, so the worker loop is
tight and results travel back packed. Two interchangeable backends run the
same loop: the C extension :mod:`nebsign._speedups` in threads (it releases
the GIL for a whole batch; ADR 0005), or, where it was not built or
``NEBSIGN_PURE_PYTHON`` is set, :func:`_hash_group_batch` in worker processes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from nebsign.digest import (
    _OPEN_FLAGS,
    FileDigest,
    Progress,
    _sha256_fresh_fd,
    _small_buffer,
)
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
_PARALLEL_MIN_FILES = 256  # below this, forking workers costs more than it saves


#: One group's results from a worker: sizes, the hex digests concatenated, one
#: byte per file that is 1 when any execute bit is set, and error messages by
#: index (those files have size -1 and a zero digest).
_GroupResult = tuple[list[int], str, bytes, dict[int, str]]
_EXEC_BITS = 0o111
#: Per group, as callers get it: sizes, hex digests concatenated (64 characters
#: each), one byte per file (1 = any execute bit set).
Packed = tuple[list[int], str, bytes]
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC

try:
    from nebsign import _speedups
except ImportError:  # pragma: no cover - built where a C compiler and OpenSSL headers exist
    _speedups = None  # type: ignore[assignment]


def c_loop_available() -> bool:
    """True when the C loop is built and not switched off by ``NEBSIGN_PURE_PYTHON``."""
    return _speedups is not None and not os.environ.get("NEBSIGN_PURE_PYTHON")


def _dir_failed(directory: str, names: Sequence[str], exc: OSError) -> _GroupResult:
    message = f"cannot read directory {directory}: {exc.strerror or exc}"
    n = len(names)
    return [-1] * n, "00" * 32 * n, bytes(n), dict.fromkeys(range(n), message)


def _file_error(directory: str, name: str, err: int) -> str:
    """The message for one file the loop could not hash (*err*: errno, or -1)."""
    shown = f"{directory.rstrip('/')}/{name}"
    if err == _NOT_REGULAR:
        return f"cannot hash {shown}: not a regular file"
    return f"cannot read {shown}: {os.strerror(err)}"


_NOT_REGULAR = -1


def _hash_group_batch_c(batch: Sequence[tuple[str, Sequence[str]]]) -> list[_GroupResult]:
    """Thread worker: :func:`_hash_group_batch` done by the C loop (GIL released)."""
    assert _speedups is not None
    out: list[_GroupResult] = []
    for directory, names in batch:
        listed = names if isinstance(names, list) else list(names)
        try:
            sizes, raw, execs, errnos = _speedups.hash_names(directory, listed)
        except OSError as exc:
            out.append(_dir_failed(directory, names, exc))
            continue
        errors = {i: _file_error(directory, listed[i], err) for i, err in errnos.items()}
        out.append((sizes, raw.hex(), execs, errors))
    return out


def _hash_group_batch(batch: Sequence[tuple[str, Sequence[str]]]) -> list[_GroupResult]:
    """Worker: digest each name relative to its directory (one dir fd per group).

    The loop is deliberately tight (locals, no per-file helper calls, one
    reused buffer): for small files the per-file overhead, not SHA-256, is
    the cost. Results are packed (one hex string per group) because
    pickling a Python object per file back to the parent would cost more
    than hashing a 4 KiB file. Errors come back as messages by index.
    """
    out: list[_GroupResult] = []
    buf = _small_buffer()
    view = memoryview(buf)
    limit = len(buf)
    sha256 = hashlib.sha256
    open_, fstat, readv, close, isreg = os.open, os.fstat, os.readv, os.close, stat.S_ISREG
    for directory, names in batch:
        sizes: list[int] = []
        digests = bytearray()
        execs = bytearray()
        errors: dict[int, str] = {}
        try:
            dfd = open_(directory, _DIR_FLAGS)
        except OSError as exc:
            out.append(_dir_failed(directory, names, exc))
            continue
        try:
            for i, name in enumerate(names):
                try:
                    fd = open_(name, _OPEN_FLAGS, dir_fd=dfd)
                    try:
                        st = fstat(fd)
                        if not isreg(st.st_mode):
                            raise _NotRegular
                        executable = 1 if st.st_mode & _EXEC_BITS else 0
                        n = readv(fd, [buf]) if st.st_size < limit else limit
                        if n < limit:
                            raw = sha256(view[:n]).digest()
                        else:
                            os.lseek(fd, 0, os.SEEK_SET)
                            big = _sha256_fresh_fd(fd, st.st_size)
                            n, raw = big.size, bytes.fromhex(big.sha256)
                    finally:
                        close(fd)
                except _NotRegular:
                    errors[i] = _file_error(directory, name, _NOT_REGULAR)
                    n, raw, executable = -1, bytes(32), 0
                except OSError as exc:
                    errors[i] = _file_error(directory, name, exc.errno or 0)
                    n, raw, executable = -1, bytes(32), 0
                sizes.append(n)
                digests += raw
                execs.append(executable)
        finally:
            close(dfd)
        out.append((sizes, digests.hex(), bytes(execs), errors))
    return out


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


def first_error(pieces: Iterable[Piece]) -> None:
    """Raise :class:`InputError` for the first unreadable file in input order, if any."""
    bad = [(p.group, p.offset + min(p.errors), p.errors[min(p.errors)]) for p in pieces if p.errors]
    if bad:
        raise InputError(min(bad)[2])


class _NotRegular(Exception):
    """A name that is no longer a regular file when opened."""


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
    """Digest files given as (directory, names) groups, in worker processes.

    :meth:`feed` walks the (possibly lazy) groups and hands batches to the
    workers as they fill, then returns at once; :meth:`finish` waits and
    returns, per group, ``(sizes, hexes)`` (the hex digests concatenated, 64
    characters each, so callers create no object per file here). Between the
    two the caller's thread is free, e.g. to parse the manifest the results
    will be compared with. Small inputs are hashed in this process. Use as a
    context manager so the pool is always shut down.
    """

    def __init__(self, *, workers: int | None = None, progress: Progress | None = None) -> None:
        self._workers = worker_count() if workers is None else max(1, workers)
        self._progress = progress
        self._pieces: dict[tuple[int, int], _GroupResult] = {}
        self._pending: list[tuple[int, int, str, Sequence[str]]] = []
        self._pending_files = 0
        self._submitted: dict[Any, list[tuple[int, int]]] = {}
        self._pool: Any = None
        self._threaded = c_loop_available()
        self._work = _hash_group_batch_c if self._threaded else _hash_group_batch
        self._count = 0
        self._ngroups = 0

    def __enter__(self) -> GroupHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _store(self, keys: list[tuple[int, int]], results: list[_GroupResult]) -> None:
        for key, res in zip(keys, results, strict=True):
            self._pieces[key] = res

    def _flush(self, final: bool) -> None:
        batch, self._pending, self._pending_files = self._pending, [], 0
        if not batch:
            return
        keys = [(gi, off) for gi, off, _, _ in batch]
        work = [(d, names) for _, _, d, names in batch]
        if self._pool is None and (
            self._workers == 1 or (final and self._count < _PARALLEL_MIN_FILES)
        ):
            self._store(keys, self._work(work))
            return
        if self._pool is None:
            self._pool = self._start_pool()
        self._submitted[self._pool.submit(self._work, work)] = keys

    def _start_pool(self) -> Any:
        if self._threaded:
            from concurrent.futures import ThreadPoolExecutor

            return ThreadPoolExecutor(self._workers, thread_name_prefix="nebsign-hash")
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("fork"))

    def feed(self, groups: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Consume *groups* and start hashing them; returns before hashing ends."""
        for directory, names in groups:
            gi = self._ngroups
            self._ngroups += 1
            self._count += len(names)
            for off in range(0, len(names), _BATCH):
                chunk = names[off : off + _BATCH]
                self._pending.append((gi, off, directory, chunk))
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
            if self._progress is not None:
                self._progress(len(res[0]))
            yield Piece(gi, off, *res)

    def _ready(self) -> Iterator[tuple[tuple[int, int], _GroupResult]]:
        pieces, self._pieces = self._pieces, {}
        submitted, self._submitted = self._submitted, {}
        yield from pieces.items()
        if submitted:
            from concurrent.futures import as_completed

            for fut in as_completed(submitted):
                yield from zip(submitted[fut], fut.result(), strict=True)

    def finish(self) -> list[Packed]:
        """Wait for every batch; per group (sizes, hexes, execs), in feed order.

        The first unreadable file (in input order) raises :class:`InputError`.
        """
        pieces = sorted(self.completed())
        first_error(pieces)
        out: list[Packed] = [([], "", b"") for _ in range(self._ngroups)]
        for gi, off, sizes, hexes, execs, _ in pieces:
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
