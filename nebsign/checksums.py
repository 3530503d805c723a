"""GNU ``sha256sum`` text: format and strict parse (byte-exact with coreutils 9)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from nebsign.errors import InputError

__all__ = ["ChecksumLine", "display_name", "format_line", "iter_checksums", "parse_checksums"]

MAX_CHECK_BYTES = 512 * 1024 * 1024
#: one line of a checksum file: a name of PATH_MAX bytes, every byte escaped, and the digest
MAX_LINE_BYTES = 16 * 1024
_GNU_RE = re.compile(rb"([0-9a-fA-F]{64}) ([ *])(.*)", re.DOTALL)
_BSD_RE = re.compile(rb"SHA256 ?\((.*)\) ?= ([0-9a-fA-F]{64})", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ChecksumLine:
    """One parsed line: expected hex digest (lowercase) and the file name bytes."""

    sha256: str
    name: bytes
    lineno: int


def _escape(name: bytes) -> tuple[bool, bytes]:
    if b"\\" not in name and b"\n" not in name and b"\r" not in name:
        return False, name
    return True, name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def display_name(name: bytes) -> bytes:
    """*name* as GNU prints it in ``--check`` results.

    coreutils 9 escapes a name there only when it holds a newline (then
    backslash, newline and carriage return are escaped, with a leading ``\\``).
    """
    if b"\n" not in name:
        return name
    return b"\\" + _escape(name)[1]


def format_line(sha256: str, name: bytes) -> bytes:
    """One ``sha256sum`` line (text mode), escaped exactly as GNU coreutils does."""
    escaped, text = _escape(name)
    return (b"\\" if escaped else b"") + sha256.encode("ascii") + b"  " + text + b"\n"


def _unescape(text: bytes, lineno: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i : i + 1]
        if ch == b"\\":
            nxt = text[i + 1 : i + 2]
            if nxt == b"\\":
                out += b"\\"
            elif nxt == b"n":
                out += b"\n"
            elif nxt == b"r":
                out += b"\r"
            else:
                raise InputError(f"line {lineno}: invalid escape in file name")
            i += 2
        else:
            out += ch
            i += 1
    return bytes(out)


def parse_checksums(data: bytes, what: str = "checksum file") -> list[ChecksumLine]:
    """Parse ``sha256sum`` output (GNU or BSD-tag lines) strictly; see :func:`iter_checksums`."""
    if len(data) > MAX_CHECK_BYTES:
        raise InputError(f"{what}: larger than {MAX_CHECK_BYTES} bytes")
    return list(iter_checksums(io.BytesIO(data), what))


def iter_checksums(stream: BinaryIO, what: str = "checksum file") -> Iterator[ChecksumLine]:
    """Each checksum line of *stream*, read one line at a time (memory: one line).

    Any malformed line, or one longer than :data:`MAX_LINE_BYTES`, is an
    :class:`InputError` naming its number (raised when the iteration reaches
    it); blank lines and ``#`` comments are skipped; a stream with no checksum
    line is an error (it would otherwise "pass" while checking nothing).
    """
    lineno, found = 0, False
    while raw := stream.readline(MAX_LINE_BYTES + 2):
        lineno += 1
        if len(raw) > MAX_LINE_BYTES and not (len(raw) == MAX_LINE_BYTES + 1 and raw[-1:] == b"\n"):
            raise InputError(f"{what}: line {lineno} is longer than {MAX_LINE_BYTES} bytes")
        raw = raw.removesuffix(b"\n")
        parsed = _parse_line(raw, lineno, what)
        if parsed is not None:
            found = True
            yield parsed
    if not found:
        raise InputError(f"{what}: no checksum lines found")


def _parse_line(raw: bytes, lineno: int, what: str) -> ChecksumLine | None:
    line = raw[:-1] if raw.endswith(b"\r") and not raw.startswith(b"\\") else raw
    if not line.strip() or line.startswith(b"#"):
        return None
    escaped = line.startswith(b"\\")
    body = line[1:] if escaped else line
    match = _GNU_RE.fullmatch(body)
    if match is not None:
        hexdigest, name = match.group(1), match.group(3)
    else:
        bsd = _BSD_RE.fullmatch(body)
        if bsd is None:
            raise InputError(f"{what}: line {lineno} is not a sha256sum line")
        name, hexdigest = bsd.group(1), bsd.group(2)
    if escaped:
        name = _unescape(name, lineno)
    if not name:
        raise InputError(f"{what}: line {lineno} has no file name")
    return ChecksumLine(hexdigest.decode("ascii").lower(), name, lineno)
