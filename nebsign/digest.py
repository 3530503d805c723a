"""The one SHA-256 path: bytes, streams, files and trees.

* Large files stream through a small ring of big buffers: a reader thread
  ``readinto``s the next buffer while the calling thread hashes the previous
  one (hashlib releases the GIL), so reading and hashing overlap and memory
  stays bounded (``_RING * _CHUNK`` bytes whatever the file size).
* Small files are read with one ``readv`` into a buffer reused for every file:
  no per-file allocation beyond the hash object.
* Many files are hashed in parallel by worker processes, each given large
  batches of paths (no per-file task).
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from nebsign.errors import InputError

__all__ = [
    "DIGEST_RE",
    "FileDigest",
    "GroupHasher",
    "TooLarge",
    "copy_and_hash",
    "format_digest",
    "hash_files",
    "hash_groups",
    "hash_groups_packed",
    "parse_digest",
    "sha256_bytes",
    "sha256_file",
    "sha256_stream",
    "worker_count",
]

#: ``sha256:<64 lowercase hex>``
DIGEST_RE = re.compile(r"sha256:([0-9a-f]{64})")
_HEX_RE = re.compile(r"[0-9a-f]{64}")

_CHUNK = 4 * 1024 * 1024  # bytes per buffer for large files
_RING = 3  # buffers in flight: memory bound is _RING * _CHUNK
_SMALL = 256 * 1024  # files up to this size are read in one readv
_SEQUENTIAL_MAX = 16 * 1024 * 1024  # above this, reads overlap hashing in a thread
_BATCH = 2048  # files per worker task
_PARALLEL_MIN_FILES = 256  # below this, forking workers costs more than it saves

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


def copy_and_hash(
    src: BinaryIO, dst_fd: int, *, limit: int | None = None, progress: Progress | None = None
) -> FileDigest:
    """Copy *src* to the open file descriptor *dst_fd* while hashing, in one pass.

    The caller fsyncs *dst_fd*. Raises :class:`TooLarge` past *limit* bytes.
    """

    def write_all(chunk: memoryview) -> None:
        while chunk:
            written = os.write(dst_fd, chunk)
            chunk = chunk[written:]

    return sha256_stream(src, progress, sink=write_all, limit=limit)


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


#: One group's results from a worker: sizes, the hex digests concatenated, and
#: error messages by index (those files have size -1 and a zero digest).
_GroupResult = tuple[list[int], str, dict[int, str]]
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
        errors: dict[int, str] = {}
        try:
            dfd = open_(directory, _DIR_FLAGS)
        except OSError as exc:
            message = f"cannot read directory {directory}: {exc.strerror or exc}"
            out.append(
                (
                    [-1] * len(names),
                    "00" * 32 * len(names),
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
                    n, raw = -1, bytes(32)
                sizes.append(n)
                digests += raw
        finally:
            close(dfd)
        out.append((sizes, digests.hex(), errors))
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

    def finish(self) -> list[tuple[list[int], str]]:
        """Wait for every batch; per group (sizes, hexes), in feed order.

        The first unreadable file (in input order) raises :class:`InputError`.
        """
        if self._submitted:
            from concurrent.futures import as_completed

            for fut in as_completed(self._submitted):
                self._store(self._submitted[fut], fut.result())
            self._submitted = {}
        out: list[tuple[list[int], str]] = [([], "") for _ in range(self._ngroups)]
        for gi, off in sorted(self._pieces):
            sizes, hexes, errors = self._pieces[(gi, off)]
            if errors:
                raise InputError(errors[min(errors)])
            if off:
                prev_sizes, prev_hexes = out[gi]
                out[gi] = (prev_sizes + sizes, prev_hexes + hexes)
            else:
                out[gi] = (sizes, hexes)
        return out


def hash_groups_packed(
    groups: Iterable[tuple[str, Sequence[str]]],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[tuple[list[int], str]]:
    """Per group (sizes, hexes) for (directory, names) groups; see :class:`GroupHasher`."""
    with GroupHasher(workers=workers, progress=progress) as hasher:
        hasher.feed(groups)
        return hasher.finish()


def hash_groups(
    groups: Iterable[tuple[str, Sequence[str]]],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[list[FileDigest]]:
    """Like :func:`hash_groups_packed`, as :class:`FileDigest` lists per group."""
    return [
        [FileDigest(size, hexes[64 * i : 64 * i + 64]) for i, size in enumerate(sizes)]
        for sizes, hexes in hash_groups_packed(groups, workers=workers, progress=progress)
    ]


def hash_files(
    paths: Sequence[str],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[FileDigest]:
    """Digest many regular files (in parallel when worthwhile), in the order given."""
    groups: list[tuple[str, list[str]]] = []
    for path in paths:
        directory, name = os.path.split(path)
        directory = directory or "."
        if groups and groups[-1][0] == directory:
            groups[-1][1].append(name)
        else:
            groups.append((directory, [name]))
    return [d for group in hash_groups(groups, workers=workers, progress=progress) for d in group]
