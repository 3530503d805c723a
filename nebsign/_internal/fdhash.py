"""Hashing at the file-descriptor level: the loops every SHA-256 of a file goes through.

:mod:`nebsign.digest` (one file, a stream) and the tree-hashing loops
(:mod:`nebsign._internal.hashloops`, run by the pools of
:mod:`nebsign._internal.hashpool`) share these: how a file is opened
(no symlink followed, never blocking on a FIFO), how a freshly opened file is
hashed by size (one ``readv`` into a per-thread buffer, a reused buffer, or a
reader thread over a ring of big buffers), and the value they return.
Nothing here imports the rest of nebsign but :mod:`nebsign.errors`.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass

from nebsign.errors import InputError

__all__ = [
    "CHUNK",
    "OPEN_FLAGS",
    "RING",
    "SEQUENTIAL_MAX",
    "SMALL",
    "FileDigest",
    "Progress",
    "TooLarge",
    "hash_sequential",
    "hash_stream_threaded",
    "open_regular",
    "sha256_fresh_fd",
    "small_buffer",
]

CHUNK = 1024 * 1024  # bytes per buffer for large files (measured best of 256K-4M)
RING = 3  # buffers in flight: memory bound is RING * CHUNK
SMALL = 256 * 1024  # files up to this size are read in one readv
SEQUENTIAL_MAX = 16 * 1024 * 1024  # above this, reads overlap hashing in a thread

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class FileDigest:
    """Size in bytes and lowercase hex SHA-256 of one file's content."""

    size: int
    sha256: str

    @property
    def digest(self) -> str:
        """The ``sha256:<hex>`` form."""
        return f"sha256:{self.sha256}"


class TooLarge(InputError):
    """A stream was longer than the caller's limit."""

    reason = "oversized"


def hash_stream_threaded(
    read_into: Callable[[memoryview], int],
    progress: Progress | None,
    sink: Callable[[memoryview], object] | None = None,
    limit: int | None = None,
) -> FileDigest:
    """Overlap reads (reader thread) with hashing and the optional *sink* (this thread).

    *sink* receives each chunk after it is hashed (e.g. a write to the staged
    copy), so one pass reads, hashes and writes. More than *limit* bytes
    raises :class:`TooLarge` before the excess reaches the sink.
    """
    hasher = hashlib.sha256()
    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    full: queue.SimpleQueue[tuple[bytearray, int] | BaseException] = queue.SimpleQueue()
    for _ in range(RING):
        free.put(bytearray(CHUNK))
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                buf = free.get()
                if stop.is_set():
                    return
                view = memoryview(buf)
                filled = 0
                while filled < CHUNK:
                    n = read_into(view[filled:])
                    if not n:
                        break
                    filled += n
                full.put((buf, filled))
                if filled < CHUNK:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the hashing thread
            full.put(exc)

    thread = threading.Thread(target=reader, name="nebsign-digest-reader", daemon=True)
    thread.start()
    size = 0
    try:
        while True:
            item = full.get()
            if isinstance(item, BaseException):
                raise item
            buf, n = item
            if n:
                if limit is not None and size + n > limit:
                    raise TooLarge(f"more than the limit of {limit} bytes")
                chunk = memoryview(buf)[:n]
                hasher.update(chunk)
                if sink is not None:
                    sink(chunk)
                size += n
                if progress is not None:
                    progress(n)
            if n < CHUNK:
                break
            free.put(buf)
    finally:
        stop.set()
        free.put(bytearray(0))  # wake the reader if it waits for a buffer
        thread.join()
    return FileDigest(size, hasher.hexdigest())


def sha256_fresh_fd(fd: int, size_hint: int, progress: Progress | None = None) -> FileDigest:
    """Hash a freshly opened regular file (offset 0) to EOF."""
    if size_hint <= SMALL:
        buf = small_buffer()
        n = os.readv(fd, [buf])
        # A short read of a regular file is EOF; a full buffer means it grew.
        if n < len(buf):
            if progress is not None and n:
                progress(n)
            return FileDigest(n, hashlib.sha256(memoryview(buf)[:n]).hexdigest())
        os.lseek(fd, 0, os.SEEK_SET)
    elif size_hint <= SEQUENTIAL_MAX:
        return hash_sequential(fd, progress)
    return hash_stream_threaded(lambda view: os.readv(fd, [view]), progress)


def hash_sequential(fd: int, progress: Progress | None) -> FileDigest:
    """Medium files: a reused buffer, no thread (a thread start costs more)."""
    hasher = hashlib.sha256()
    buf = small_buffer()
    view = memoryview(buf)
    size = 0
    while n := os.readv(fd, [buf]):
        hasher.update(view[:n])
        size += n
        if progress is not None:
            progress(n)
    return FileDigest(size, hasher.hexdigest())


_local = threading.local()


def small_buffer() -> bytearray:
    """A per-thread buffer reused for every small file."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = bytearray(SMALL + 1)
        _local.buf = buf
    return buf


OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def open_regular(path: str, dir_fd: int | None = None, shown: str | None = None) -> tuple[int, int]:
    """Open a regular file read-only without following a final symlink; (fd, size).

    O_NONBLOCK keeps a FIFO swapped in after a directory listing from
    blocking the open; fstat then refuses it.
    """
    shown = path if shown is None else shown
    try:
        fd = os.open(path, OPEN_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise InputError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise InputError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise InputError(f"cannot hash {shown}: not a regular file")
    return fd, st.st_size
