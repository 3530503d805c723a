"""Read one file of a release from a local path or an ``http(s)://`` URL, bounded.

Every fetch has a byte limit (more is :class:`~nebsign.digest.TooLarge`),
a stall timeout (no byte for that long: :class:`FetchStalled`) and a total
deadline (:class:`FetchTimeout`), so a hostile or broken server can neither
fill the disk nor hold the agent forever. HTTP uses :mod:`http.client`
directly: no redirects (a redirect is an error), no proxies, certificate
verification on for HTTPS. Local files are opened without following a final
symlink. Bytes are copied and hashed in one pass by
:func:`nebsign.digest.copy_and_hash`; the source is read exactly once.
"""

from __future__ import annotations

import base64
import http.client
import io
import os
import ssl
import stat
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from typing import Protocol

from nebsign.digest import FileDigest, TooLarge, copy_and_hash
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


class SizeMismatch(FetchError):
    """The body ended with fewer bytes than expected."""


class FetchStalled(FetchError):
    """No byte arrived for longer than the stall timeout."""


class FetchTimeout(FetchError):
    """The whole transfer took longer than the deadline."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Timeouts in seconds for one file."""

    stall: float = 30.0
    total: float = 3600.0


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
                context=ssl.create_default_context(),
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


def fetch_to_fd(
    location: str,
    dst_fd: int,
    *,
    limit: int,
    limits: FetchLimits = FetchLimits(),
    expected_size: int | None = None,
) -> FileDigest:
    """Copy *location* into *dst_fd* while hashing it; the source is read once.

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
            digest = copy_and_hash(reader, dst_fd, limit=limit)  # type: ignore[arg-type]
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
