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
import contextlib
import errno
import http.client
import io
import os
import queue
import socket
import ssl
import stat
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Protocol

from nebsign._internal.kcopy import KernelCopyTimeout, copy_kernel
from nebsign._internal.location import check_url, is_url, join_location, location_alias, redact
from nebsign._internal.printable import printable
from nebsign.digest import FileDigest, TooLarge, sha256_bytes, sha256_stream
from nebsign.errors import EnvironmentFault, InputError

__all__ = [
    "FetchError",
    "FetchLimits",
    "FetchStalled",
    "FetchTimeout",
    "SizeMismatch",
    "check_url",
    "fetch_bytes",
    "fetch_to_fd",
    "is_url",
    "join_location",
    "location_alias",
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


class _Watchdog:
    """Shuts the connection's socket down at the deadline, whatever is being read.

    Socket timeouts only bound the wait for *one* ``recv``: a server that
    sends one byte of its status line or headers per second never trips
    them. At the deadline this timer shuts the socket down (on a duplicate
    descriptor, so the reading thread's socket object is not touched), the
    blocked read returns, and :attr:`fired` turns the outcome into
    :class:`FetchTimeout`. Covers connect, TLS handshake, headers and body.
    """

    def __init__(self, conn: http.client.HTTPConnection, deadline: float) -> None:
        self.conn = conn
        self.fired = False
        self.timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self.conn.sock
        if sock is None:
            return
        with contextlib.suppress(OSError, ValueError):
            dup = socket.socket(fileno=os.dup(sock.fileno()))
            try:
                dup.shutdown(socket.SHUT_RDWR)
            finally:
                dup.close()

    def cancel(self) -> None:
        self.timer.cancel()


def _open_http(
    location: str, limits: FetchLimits, deadline: float
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, int, _Watchdog]:
    url = redact(location)
    check_url(location)
    parts = urllib.parse.urlsplit(location)
    host = parts.hostname or ""
    conn: http.client.HTTPConnection
    # Each recv waits at most the stall time, and never past the deadline.
    timeout = max(0.001, min(limits.stall, deadline - time.monotonic()))
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=limits.tls_context()
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    watchdog = _Watchdog(conn, deadline)
    try:
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
    except (OSError, http.client.HTTPException) as exc:
        watchdog.cancel()
        conn.close()
        if watchdog.fired:
            raise FetchTimeout(f"{url}: no complete response before the deadline") from exc
        if isinstance(exc, TimeoutError):
            raise FetchStalled(f"{url}: no response (stalled)") from exc
        raise FetchError(f"{url}: request failed: {printable(str(exc), 200)}") from exc
    try:
        length = _announced_length(resp, url)
    except FetchError:
        watchdog.cancel()
        conn.close()
        raise
    return conn, resp, length, watchdog


def _announced_length(resp: http.client.HTTPResponse, url: str) -> int:
    """Content-Length of a 200 response, -1 when absent; any other status is an error."""
    if resp.status != 200:
        raise FetchError(f"{url}: HTTP {resp.status} {printable(resp.reason, 100)}")
    length_text = resp.getheader("Content-Length")
    if length_text is None:
        return -1
    try:
        return int(length_text)
    except ValueError as exc:
        raise FetchError(f"{url}: invalid Content-Length {printable(length_text, 40)!r}") from exc


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_local(path: str, below: str | None = None) -> io.FileIO:
    """Open a local source file; a missing or unreadable file is bad input (exit 2).

    Nothing is followed below *below* (the release directory): each
    directory is opened with ``O_NOFOLLOW`` relative to the one before, and
    the file itself with ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO cannot block the
    open) and checked with ``fstat`` to be a regular file before any read.
    """
    shown = redact(path)
    base, rel = os.path.split(path)
    if below is not None and path.startswith(below.rstrip("/") + "/"):
        base, rel = below, path[len(below.rstrip("/")) + 1 :]
    parts = rel.split("/")
    dir_fd = -1
    try:
        dir_fd = os.open(base or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in parts[:-1]:
            nfd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = nfd
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(parts[-1], flags, dir_fd=dir_fd)
    except FileNotFoundError as exc:
        raise InputError(f"{shown}: no such file") from exc
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise InputError(f"{shown}: a symbolic link or not a directory on the way") from exc
        raise InputError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{shown}: not a regular file")
    os.set_blocking(fd, True)
    return io.FileIO(fd, "rb", closefd=True)


_SMALL = 1024 * 1024  # files up to this size are read whole: no thread, no ring
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


def fetch_to_fd(
    location: str,
    dst_fd: int,
    *,
    limit: int,
    limits: FetchLimits = FetchLimits(),
    expected_size: int | None = None,
    below: str | None = None,
) -> FileDigest:
    """Copy *location* into *dst_fd* while hashing it; the source is read once.

    *dst_fd* must be open for reading and writing at offset 0 (a local
    source is copied in the kernel and the staged bytes are hashed).

    More than *limit* bytes raises :class:`TooLarge`; with *expected_size*,
    a Content-Length or a body of any other size is refused too. A local
    *location* under the directory *below* is opened without following any
    link beneath it.
    """
    deadline = time.monotonic() + limits.total
    shown = redact(location)
    raw: _Raw
    conn: http.client.HTTPConnection | None = None
    watchdog: _Watchdog | None = None
    if is_url(location):
        conn, raw, length, watchdog = _open_http(location, limits, deadline)
        if length > limit or (expected_size is not None and length not in (-1, expected_size)):
            watchdog.cancel()
            conn.close()
            raise TooLarge(
                f"{shown}: server announces {length} bytes, "
                f"expected {expected_size if expected_size is not None else f'<= {limit}'}"
            )
    else:
        raw = _open_local(location, below)
    try:
        reader = _Reader(raw, shown, deadline, limit)
        try:
            digest = None
            if expected_size is not None and expected_size <= _SMALL:
                digest = _copy_small(reader, dst_fd, limit)
            elif isinstance(raw, io.FileIO):
                digest = copy_kernel(raw.fileno(), dst_fd, limit, deadline, shown)
            if digest is None:
                digest = _copy_large(reader, dst_fd, limit)
        except TooLarge as exc:
            raise TooLarge(
                f"{shown}: more than the expected {limit} bytes (oversized or over-sent)"
            ) from exc
        except (FetchError, KernelCopyTimeout) as exc:
            if isinstance(exc, KernelCopyTimeout) or (watchdog is not None and watchdog.fired):
                raise FetchTimeout(f"{shown}: transfer exceeded its deadline") from exc
            raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        raw.close()
        if conn is not None:
            conn.close()
    if watchdog is not None and watchdog.fired:
        raise FetchTimeout(f"{shown}: transfer exceeded its deadline")
    if expected_size is not None and digest.size != expected_size:
        raise SizeMismatch(f"{shown}: got {digest.size} bytes, expected {expected_size}")
    return digest


def fetch_bytes(location: str, *, limit: int, limits: FetchLimits = FetchLimits()) -> bytes:
    """The whole content of a small file (metadata), at most *limit* bytes."""
    with tempfile.TemporaryFile() as tmp:
        fetch_to_fd(location, tmp.fileno(), limit=limit, limits=limits)
        tmp.seek(0)
        return tmp.read(limit + 1)
