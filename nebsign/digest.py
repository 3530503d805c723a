"""The one SHA-256 path: bytes, streams, files and trees.

* Large files stream through a small ring of big buffers: a reader thread
  ``readinto``s the next buffer while the calling thread hashes the previous
  one (hashlib releases the GIL), so reading and hashing overlap and memory
  stays bounded (``_RING * _CHUNK`` bytes whatever the file size).
* Small files are read with one ``readv`` into a buffer reused for every file:
  no per-file allocation beyond the hash object.
* Many files are hashed in parallel by worker processes
  (:mod:`nebsign._internal.hashpool`), each given large batches (no per-file task).
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from nebsign.errors import InputError

__all__ = [
    "DIGEST_RE",
    "FileDigest",
    "TooLarge",
    "format_digest",
    "hash_files",
    "parse_digest",
    "sha256_bytes",
    "sha256_file",
    "sha256_stream",
]

#: ``sha256:<64 lowercase hex>``
DIGEST_RE = re.compile(r"sha256:([0-9a-f]{64})")
_HEX_RE = re.compile(r"[0-9a-f]{64}")

_CHUNK = 1024 * 1024  # bytes per buffer for large files (measured best of 256K-4M)
_RING = 3  # buffers in flight: memory bound is _RING * _CHUNK
_SMALL = 256 * 1024  # files up to this size are read in one readv
_SEQUENTIAL_MAX = 16 * 1024 * 1024  # above this, reads overlap hashing in a thread

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


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def format_digest(hexdigest: str) -> str:
    """``sha256:<hex>`` for a 64-character lowercase hex digest."""
    if not _HEX_RE.fullmatch(hexdigest):
        raise InputError(f"not a SHA-256 hex digest: {hexdigest[:80]!r}")
    return f"sha256:{hexdigest}"


def parse_digest(text: str) -> str:
    """Hex part of a ``sha256:<hex>`` string, or :class:`InputError`."""
    match = DIGEST_RE.fullmatch(text)
    if match is None:
        raise InputError(f"not a sha256:<64 hex> digest: {text[:80]!r}")
    return match.group(1)


class TooLarge(InputError):
    """A stream was longer than the caller's limit."""

    reason = "oversized"


def _hash_stream_threaded(
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
    for _ in range(_RING):
        free.put(bytearray(_CHUNK))
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                buf = free.get()
                if stop.is_set():
                    return
                view = memoryview(buf)
                filled = 0
                while filled < _CHUNK:
                    n = read_into(view[filled:])
                    if not n:
                        break
                    filled += n
                full.put((buf, filled))
                if filled < _CHUNK:
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
            if n < _CHUNK:
                break
            free.put(buf)
    finally:
        stop.set()
        free.put(bytearray(0))  # wake the reader if it waits for a buffer
        thread.join()
    return FileDigest(size, hasher.hexdigest())


def sha256_stream(
    stream: BinaryIO,
    progress: Progress | None = None,
    *,
    sink: Callable[[memoryview], object] | None = None,
    limit: int | None = None,
) -> FileDigest:
    """Hash a binary stream to EOF in bounded memory.

    With *sink*, every chunk is also handed to it after hashing (one pass
    that reads, hashes and copies). More than *limit* bytes raises
    :class:`TooLarge`.
    """
    readinto = getattr(stream, "readinto", None)
    if readinto is None:

        def _fallback(view: memoryview) -> int:
            data = stream.read(len(view))
            view[: len(data)] = data
            return len(data)

        return _hash_stream_threaded(_fallback, progress, sink, limit)
    return _hash_stream_threaded(lambda view: readinto(view) or 0, progress, sink, limit)


def _sha256_fresh_fd(fd: int, size_hint: int, progress: Progress | None = None) -> FileDigest:
    """Hash a freshly opened regular file (offset 0) to EOF."""
    if size_hint <= _SMALL:
        buf = _small_buffer()
        n = os.readv(fd, [buf])
        # A short read of a regular file is EOF; a full buffer means it grew.
        if n < len(buf):
            if progress is not None and n:
                progress(n)
            return FileDigest(n, hashlib.sha256(memoryview(buf)[:n]).hexdigest())
        os.lseek(fd, 0, os.SEEK_SET)
    elif size_hint <= _SEQUENTIAL_MAX:
        return _hash_sequential(fd, progress)
    return _hash_stream_threaded(lambda view: os.readv(fd, [view]), progress)


def _hash_sequential(fd: int, progress: Progress | None) -> FileDigest:
    """Medium files: a reused buffer, no thread (a thread start costs more)."""
    hasher = hashlib.sha256()
    buf = _small_buffer()
    view = memoryview(buf)
    size = 0
    while n := os.readv(fd, [buf]):
        hasher.update(view[:n])
        size += n
        if progress is not None:
            progress(n)
    return FileDigest(size, hasher.hexdigest())


_local = threading.local()


def _small_buffer() -> bytearray:
    """A per-thread buffer reused for every small file."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = bytearray(_SMALL + 1)
        _local.buf = buf
    return buf


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def _open_regular(
    path: str, dir_fd: int | None = None, shown: str | None = None
) -> tuple[int, int]:
    """Open a regular file read-only without following a final symlink; (fd, size).

    O_NONBLOCK keeps a FIFO swapped in after a directory listing from
    blocking the open; fstat then refuses it.
    """
    shown = path if shown is None else shown
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
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


def sha256_file(path: str | os.PathLike[str], progress: Progress | None = None) -> FileDigest:
    """Size and SHA-256 of a regular file (a symlink is refused, not followed)."""
    name = os.fspath(path)
    fd, size = _open_regular(name)
    try:
        return _sha256_fresh_fd(fd, size, progress)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def hash_files(
    paths: Sequence[str],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[FileDigest]:
    """Digest many regular files (in parallel when worthwhile), in the order given."""
    from nebsign._internal.hashpool import hash_groups

    groups: list[tuple[str, list[str]]] = []
    for path in paths:
        directory, name = os.path.split(path)
        directory = directory or "."
        if groups and groups[-1][0] == directory:
            groups[-1][1].append(name)
        else:
            groups.append((directory, [name]))
    return [d for group in hash_groups(groups, workers=workers, progress=progress) for d in group]
