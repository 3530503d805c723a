"""Conditional, bounded reads of small metadata files (a directory or an http(s) URL).

``If-None-Match`` (the server's ``ETag``) and ``If-Modified-Since`` (its
``Last-Modified``) are sent when known, so polling an unchanged file costs a
``304 Not Modified`` and no body: the publisher's bytes per poll do not grow
with the file, only with the headers. ``404``/``410`` is reported as
:attr:`CondStatus.MISSING` (a caller may treat an absent optional file as
such); any other status, a stall or a deadline is a :class:`FetchError`.
Bodies are bounded (more than *limit* bytes is :class:`~nebsign.digest.TooLarge`).
No redirects, no proxies; HTTPS verifies certificates (the pinned CAs of
:class:`FetchLimits` when set). A local file's validator is its inode, size
and modification time, so the same caching logic serves both.
"""

from __future__ import annotations

import enum
import http.client
import os
import stat
import time
import urllib.parse
from dataclasses import dataclass

from nebsign._internal.fetch import (
    FetchError,
    FetchLimits,
    FetchStalled,
    FetchTimeout,
    _Watchdog,
    is_url,
)
from nebsign._internal.fetch import redact as _redact
from nebsign._internal.location import check_url
from nebsign.digest import TooLarge
from nebsign.errors import InputError

__all__ = ["CondResult", "CondStatus", "Validators", "conditional_get"]

_MAX_VALIDATOR = 256
_LIMITS = FetchLimits()


class CondStatus(enum.Enum):
    OK = "ok"  # 200: a body
    NOT_MODIFIED = "not-modified"  # 304: the cached copy is current
    MISSING = "missing"  # 404 / 410 / no such file


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said identifies this version of the file."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return self.etag is not None or self.last_modified is not None


@dataclass(frozen=True, slots=True)
class CondResult:
    status: CondStatus
    body: bytes | None = None
    validators: Validators = Validators()


def _header(value: str | None) -> str | None:
    """A validator header kept only if short and printable ASCII (it is sent back)."""
    if value is None or len(value) > _MAX_VALIDATOR:
        return None
    if not value.isascii() or not all(32 <= ord(c) < 127 for c in value):
        return None
    return value


def _local(path: str, limit: int, validators: Validators | None) -> CondResult:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return CondResult(CondStatus.MISSING)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file")
        tag = f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"'
        if validators is not None and validators.etag == tag:
            return CondResult(CondStatus.NOT_MODIFIED, None, validators)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise TooLarge(f"{path}: more than the limit of {limit} bytes")
    return CondResult(CondStatus.OK, data, Validators(tag, None))


def _read_body(resp: http.client.HTTPResponse, shown: str, limit: int, deadline: float) -> bytes:
    length = resp.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLarge(f"{shown}: server announces {length} bytes, more than {limit}")
    chunks: list[bytes] = []
    got = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchTimeout(f"{shown}: transfer exceeded its deadline")
        try:
            chunk = resp.read1(min(65536, limit + 1 - got))
        except TimeoutError as exc:
            raise FetchStalled(f"{shown}: no data received for too long (stalled)") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"{shown}: read failed: {exc}") from exc
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        if got > limit:
            raise TooLarge(f"{shown}: more than the limit of {limit} bytes")
    if length is not None and length.isdigit() and got != int(length):
        raise FetchError(f"{shown}: connection closed early ({got} of {length} bytes)")
    return b"".join(chunks)


def conditional_get(
    location: str,
    *,
    limit: int,
    limits: FetchLimits = _LIMITS,
    validators: Validators | None = None,
) -> CondResult:
    """GET *location* unless it is unchanged since *validators* were seen.

    One deadline (``min(total, 4 x stall)``) covers connect, TLS, status
    line, headers and body: the fetch module's watchdog shuts the socket
    down when it passes, so a server dribbling headers cannot hold a poll.
    """
    if not is_url(location):
        return _local(location, limit, validators)
    check_url(location)
    shown = _redact(location)
    parts = urllib.parse.urlsplit(location)
    deadline = time.monotonic() + min(limits.total, 4 * limits.stall)
    timeout = max(0.001, min(limits.stall, deadline - time.monotonic()))
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=limits.tls_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    headers = {"User-Agent": "nebsign-agent", "Accept": "*/*"}
    if validators is not None and validators.etag is not None:
        headers["If-None-Match"] = validators.etag
    if validators is not None and validators.last_modified is not None:
        headers["If-Modified-Since"] = validators.last_modified
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    watchdog = _Watchdog(conn, deadline)
    try:
        try:
            conn.request("GET", path, headers=headers)
            result = _response(conn.getresponse(), shown, limit, deadline, validators)
        except TimeoutError as exc:
            raise FetchStalled(f"{shown}: no data for too long (stalled)") from exc
        except (OSError, http.client.HTTPException) as exc:
            if watchdog.fired:
                raise FetchTimeout(f"{shown}: no complete response before the deadline") from exc
            raise FetchError(f"{shown}: request failed: {str(exc)[:200]!r}") from exc
        except FetchError as exc:
            if watchdog.fired and not isinstance(exc, FetchTimeout):
                raise FetchTimeout(f"{shown}: no complete response before the deadline") from exc
            raise
        if watchdog.fired:
            raise FetchTimeout(f"{shown}: no complete response before the deadline")
        return result
    finally:
        watchdog.cancel()
        conn.close()


def _response(
    resp: http.client.HTTPResponse,
    shown: str,
    limit: int,
    deadline: float,
    validators: Validators | None,
) -> CondResult:
    if resp.status == 304:
        if validators is None or not validators:
            raise FetchError(f"{shown}: HTTP 304 to an unconditional request")
        return CondResult(CondStatus.NOT_MODIFIED, None, validators)
    if resp.status in (404, 410):
        return CondResult(CondStatus.MISSING)
    if resp.status != 200:
        raise FetchError(f"{shown}: HTTP {resp.status} {resp.reason[:80]!r}")
    body = _read_body(resp, shown, limit, deadline)
    found = Validators(_header(resp.getheader("ETag")), _header(resp.getheader("Last-Modified")))
    return CondResult(CondStatus.OK, body, found)
