"""Parallel hashing of many files: worker processes fed in batches.

Part of the one hashing path (:mod:`nebsign.digest`); see ADR 0001. For small
files the per-file overhead, not SHA-256, is the cost, so the worker loop is
tight and results travel back packed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from typing import Any

from nebsign.digest import (
    _OPEN_FLAGS,
    FileDigest,
    Progress,
    _sha256_fresh_fd,
    _small_buffer,
)
from nebsign.errors import InputError

__all__ = ["GroupHasher", "Packed", "hash_groups", "worker_count"]

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
            message = f"cannot read directory {directory}: {exc.strerror or exc}"
            out.append(
                (
                    [-1] * len(names),
                    "00" * 32 * len(names),
                    bytes(len(names)),
                    dict.fromkeys(range(len(names)), message),
                )
            )
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
                except (OSError, _NotRegular) as exc:
                    shown = f"{directory.rstrip('/')}/{name}"
                    if isinstance(exc, _NotRegular):
                        errors[i] = f"cannot hash {shown}: not a regular file"
                    else:
                        errors[i] = f"cannot read {shown}: {exc.strerror or exc}"
                    n, raw, executable = -1, bytes(32), 0
                sizes.append(n)
                digests += raw
                execs.append(executable)
        finally:
            close(dfd)
        out.append((sizes, digests.hex(), bytes(execs), errors))
    return out


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
            if self._progress is not None:
                self._progress(len(res[0]))

    def _flush(self, final: bool) -> None:
        batch, self._pending, self._pending_files = self._pending, [], 0
        if not batch:
            return
        keys = [(gi, off) for gi, off, _, _ in batch]
        work = [(d, names) for _, _, d, names in batch]
        if self._pool is None and (
            self._workers == 1 or (final and self._count < _PARALLEL_MIN_FILES)
        ):
            self._store(keys, _hash_group_batch(work))
            return
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("fork")
            )
        self._submitted[self._pool.submit(_hash_group_batch, work)] = keys

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

    def finish(self) -> list[Packed]:
        """Wait for every batch; per group (sizes, hexes, execs), in feed order.

        The first unreadable file (in input order) raises :class:`InputError`.
        """
        if self._submitted:
            from concurrent.futures import as_completed

            for fut in as_completed(self._submitted):
                self._store(self._submitted[fut], fut.result())
            self._submitted = {}
        out: list[Packed] = [([], "", b"") for _ in range(self._ngroups)]
        for gi, off in sorted(self._pieces):
            sizes, hexes, execs, errors = self._pieces[(gi, off)]
            if errors:
                raise InputError(errors[min(errors)])
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
