"""Read one file of a release from a local path or an ``http(s)://`` URL, bounded.

Every fetch has a byte limit (more is :class:`~nebsign.digest.TooLarge`),
a stall timeout (no byte for that long: :class:`FetchStalled`) and a total
deadline (:class:`FetchTimeout`), so a hostile or broken server can neither
fill the disk nor hold the agent forever. HTTP uses :mod:`http.client`
directly: no redirects (a redirect is an error), no proxies, certificate
verification on for HTTPS. Local files are opened without following a final
symlink. Bytes are copied and hashed in one pass (a reader thread reads,
the caller hashes with :func:`nebsign.digest.sha256_stream`, a writer thread
writes, so hashing and writing overlap); the source is read exactly once.
"""

from __future__ import annotations

import base64
import errno
import http.client
import io
import os
import queue
import ssl
import stat
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

from nebsign.digest import FileDigest, TooLarge, sha256_bytes, sha256_stream
from nebsign.errors import EnvironmentFault, InputError

__all__ = [
    "FetchError",
    "FetchLimits",
    "FetchStalled",
    "FetchTimeout",
    "SizeMismatch",
    "fetch_bytes",
    "fetch_to_fd",
    "is_url",
    "join_location",
    "redact",
]


class FetchError(EnvironmentFault):
    """The source could not be read (network error, HTTP status, missing file)."""

    reason = "fetch-error"


class SizeMismatch(FetchError):
    """The body ended with fewer bytes than expected."""

    reason = "size-mismatch"


class FetchStalled(FetchError):
    """No byte arrived for longer than the stall timeout."""

    reason = "fetch-stalled"


class FetchTimeout(FetchError):
    """The whole transfer took longer than the deadline."""

    reason = "fetch-timeout"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How one file is fetched: timeouts in seconds and, for HTTPS, whom to trust.

    *ca_pem* (PEM certificates) replaces the system's CAs when set: a release
    server behind an internal CA is then trusted, and nothing else is.
    """

    stall: float = 30.0
    total: float = 3600.0
    ca_pem: bytes | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name verification on; the pinned CAs if given."""
        if self.ca_pem is None:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"TLS CA file: not PEM certificates ({exc})") from exc


def is_url(location: str) -> bool:
    """True for ``http://`` and ``https://`` locations."""
    return location.startswith(("http://", "https://"))


def join_location(base: str, relpath: str) -> str:
    """*relpath* (already checked safe) under *base* (a directory path or URL).

    A URL keeps its user info and query (e.g. a token) for every file.
    """
    if is_url(base):
        parts = urllib.parse.urlsplit(base)
        path = parts.path.rstrip("/") + "/" + urllib.parse.quote(relpath, safe="/")
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return os.path.join(base, *relpath.split("/"))


def redact(location: str) -> str:
    """*location* without URL user info, query or fragment (for logs and errors)."""
    if not is_url(location):
        return location
    parts = urllib.parse.urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class _Raw(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def close(self) -> None: ...


class _Reader:
    """``readinto`` over a response or file, enforcing the limit and deadline."""

    def __init__(self, raw: _Raw, what: str, deadline: float, limit: int) -> None:
        self.raw = raw
        self.what = what
        self.deadline = deadline
        self.remaining = limit + 1  # read one byte past the limit to detect excess

    def readinto(self, view: memoryview) -> int:
        if time.monotonic() > self.deadline:
            raise FetchTimeout(f"{self.what}: transfer exceeded its deadline")
        if self.remaining <= 0:
            return 0
        want = view[: min(len(view), self.remaining)]
        try:
            read1 = getattr(self.raw, "read1", None)
            if read1 is not None:  # one recv at a time, so the deadline is checked often
                data = read1(len(want))
                n = len(data)
                want[:n] = data
            else:
                n = self.raw.readinto(want) or 0
        except TimeoutError as exc:
            raise FetchStalled(f"{self.what}: no data received for too long (stalled)") from exc
        except http.client.IncompleteRead as exc:
            raise FetchError(f"{self.what}: connection closed early") from exc
        except OSError as exc:
            raise FetchError(f"{self.what}: read failed: {exc.strerror or exc}") from exc
        self.remaining -= n
        return n


def _open_http(
    location: str, limits: FetchLimits
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, int]:
    url = redact(location)
    parts = urllib.parse.urlsplit(location)
    if not parts.hostname:
        raise InputError(f"invalid URL {url!r}")
    conn: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname,
                parts.port,
                timeout=limits.stall,
                context=limits.tls_context(),
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=limits.stall)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {"User-Agent": "nebsign-agent", "Accept": "*/*"}
        if parts.username is not None:
            token = f"{urllib.parse.unquote(parts.username)}:"
            token += urllib.parse.unquote(parts.password or "")
            headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
    except TimeoutError as exc:
        raise FetchStalled(f"{url}: no response (stalled)") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: request failed: {exc}") from exc
    if resp.status != 200:
        conn.close()
        raise FetchError(f"{url}: HTTP {resp.status} {resp.reason}")
    length_text = resp.getheader("Content-Length")
    length = -1
    if length_text is not None:
        try:
            length = int(length_text)
        except ValueError as exc:
            conn.close()
            raise FetchError(f"{url}: invalid Content-Length {length_text[:40]!r}") from exc
    return conn, resp, length


def _open_local(path: str) -> io.FileIO:
    """Open a local source file; a missing or unreadable file is bad input (exit 2)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{path}: not a regular file")
    return io.FileIO(fd, "rb", closefd=True)


_SMALL = 1024 * 1024  # files up to this size are read whole: no thread, no ring
_KCHUNK = 8 * 1024 * 1024  # bytes per copy_file_range call
_QUEUE = 4  # chunks in flight to the writer thread (bounded memory)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_small(reader: _Reader, dst_fd: int, limit: int) -> FileDigest:
    """Read a small file whole (at most limit + 1 bytes), write it, hash it."""
    buf = bytearray(limit + 1)
    view = memoryview(buf)
    filled = 0
    while filled < len(buf):
        n = reader.readinto(view[filled:])
        if not n:
            break
        filled += n
    if filled > limit:
        raise TooLarge(f"more than the limit of {limit} bytes")
    _write_all(dst_fd, view[:filled])
    return FileDigest(filled, sha256_bytes(view[:filled]))


class _AsyncWriter:
    """Writes chunks in a thread so hashing (caller) and writing (kernel) overlap."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE)
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._run, name="nebsign-fetch-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.error is None:
                try:
                    _write_all(self.fd, chunk)
                except OSError as exc:
                    self.error = exc

    def __call__(self, chunk: memoryview) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(bytes(chunk))  # the ring buffer is reused after this returns

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _copy_large(reader: _Reader, dst_fd: int, limit: int) -> FileDigest:
    """One pass: a reader thread reads, this thread hashes, a writer thread writes."""
    writer = _AsyncWriter(dst_fd)
    try:
        digest = sha256_stream(reader, sink=writer, limit=limit)  # type: ignore[arg-type]
    finally:
        writer.close()
    return digest


_SYNC_FILE_RANGE_WRITE = 2
_libc_sync_file_range: Any = None


def _start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing this range to disk now (``sync_file_range``).

    Asynchronous; it only lets the final ``fsync`` find most of the file
    already on its way to disk instead of starting then. Best effort: a
    missing ``sync_file_range`` or an error changes nothing but speed.
    """
    global _libc_sync_file_range
    if _libc_sync_file_range is None:
        import ctypes
        import ctypes.util

        try:
            func = ctypes.CDLL(ctypes.util.find_library("c") or None).sync_file_range
            func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            func.restype = ctypes.c_int
            _libc_sync_file_range = func
        except (OSError, AttributeError):
            _libc_sync_file_range = False
    if _libc_sync_file_range:
        _libc_sync_file_range(fd, offset, nbytes, _SYNC_FILE_RANGE_WRITE)


class _KernelCopy:
    """Local file -> staged file with ``copy_file_range`` in a thread; hash the staged copy.

    The copier thread moves the source into the destination in the kernel
    (no user-space copy); :meth:`readinto` hands the bytes that have landed
    in the destination to :func:`~nebsign.digest.sha256_stream` with
    ``pread``. The source is read once, and the digest is of exactly the
    bytes that were staged, while copying and hashing overlap.
    """

    def __init__(self, src_fd: int, dst_fd: int, limit: int, deadline: float, shown: str) -> None:
        self.src_fd, self.dst_fd = src_fd, dst_fd
        self.limit, self.deadline, self.shown = limit, deadline, shown
        self.copied = 0
        self.done = False
        self.error: BaseException | None = None
        self.pos = 0
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._copy, name="nebsign-kernel-copy", daemon=True)

    def probe(self) -> bool:
        """Copy the first chunk in this thread; False if copy_file_range is unusable here."""
        try:
            n = os.copy_file_range(self.src_fd, self.dst_fd, min(_KCHUNK, self.limit + 1))
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                return False
            raise
        self.copied = n
        self.done = n == 0
        if not self.done:
            self.thread.start()
        return True

    def _copy(self) -> None:
        try:
            while True:
                if time.monotonic() > self.deadline:
                    with self.cond:
                        self.error = FetchTimeout(f"{self.shown}: copy exceeded its deadline")
                        self.done = True
                        self.cond.notify_all()
                    return
                want = min(_KCHUNK, self.limit + 1 - self.copied)
                n = os.copy_file_range(self.src_fd, self.dst_fd, want) if want > 0 else 0
                if n:
                    _start_writeback(self.dst_fd, self.copied, n)
                with self.cond:
                    self.copied += n
                    if n == 0 or self.copied > self.limit:
                        self.done = True
                    self.cond.notify_all()
                if self.done:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the hashing side
            with self.cond:
                self.error = exc
                self.done = True
                self.cond.notify_all()

    def readinto(self, view: memoryview) -> int:
        with self.cond:
            while self.pos >= self.copied and not self.done:
                self.cond.wait()
            if self.error is not None:
                raise self.error
            avail = self.copied - self.pos
        if avail <= 0:
            return 0
        n = os.preadv(self.dst_fd, [view[: min(len(view), avail)]], self.pos)
        self.pos += n
        return n

    def join(self) -> None:
        if self.thread.is_alive():
            self.thread.join()


def _copy_kernel(
    src_fd: int, dst_fd: int, limit: int, deadline: float, shown: str
) -> FileDigest | None:
    """Overlapped kernel copy + hash of the staged bytes; None if not supported."""
    job = _KernelCopy(src_fd, dst_fd, limit, deadline, shown)
    if not job.probe():
        return None
    try:
        return sha256_stream(job, limit=limit)  # type: ignore[arg-type]
    finally:
        job.join()


def fetch_to_fd(
    location: str,
    dst_fd: int,
    *,
    limit: int,
    limits: FetchLimits = FetchLimits(),
    expected_size: int | None = None,
) -> FileDigest:
    """Copy *location* into *dst_fd* while hashing it; the source is read once.

    *dst_fd* must be open for reading and writing at offset 0 (a local
    source is copied in the kernel and the staged bytes are hashed).

    More than *limit* bytes raises :class:`TooLarge`; with *expected_size*,
    a Content-Length or a body of any other size is refused too.
    """
    deadline = time.monotonic() + limits.total
    shown = redact(location)
    raw: _Raw
    conn: http.client.HTTPConnection | None = None
    if is_url(location):
        conn, raw, length = _open_http(location, limits)
        if length > limit or (expected_size is not None and length not in (-1, expected_size)):
            conn.close()
            raise TooLarge(
                f"{shown}: server announces {length} bytes, "
                f"expected {expected_size if expected_size is not None else f'<= {limit}'}"
            )
    else:
        raw = _open_local(location)
    try:
        reader = _Reader(raw, shown, deadline, limit)
        try:
            digest = None
            if expected_size is not None and expected_size <= _SMALL:
                digest = _copy_small(reader, dst_fd, limit)
            elif isinstance(raw, io.FileIO):
                digest = _copy_kernel(raw.fileno(), dst_fd, limit, deadline, shown)
            if digest is None:
                digest = _copy_large(reader, dst_fd, limit)
        except TooLarge as exc:
            raise TooLarge(
                f"{shown}: more than the expected {limit} bytes (oversized or over-sent)"
            ) from exc
    finally:
        raw.close()
        if conn is not None:
            conn.close()
    if expected_size is not None and digest.size != expected_size:
        raise SizeMismatch(f"{shown}: got {digest.size} bytes, expected {expected_size}")
    return digest


def fetch_bytes(location: str, *, limit: int, limits: FetchLimits = FetchLimits()) -> bytes:
    """The whole content of a small file (metadata), at most *limit* bytes."""
    with tempfile.TemporaryFile() as tmp:
        fetch_to_fd(location, tmp.fileno(), limit=limit, limits=limits)
        tmp.seek(0)
        return tmp.read(limit + 1)
