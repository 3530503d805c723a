"""GNU ``sha256sum`` text: format and strict parse (byte-exact with coreutils 9)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nebsign.errors import InputError

__all__ = ["ChecksumLine", "display_name", "format_line", "parse_checksums"]

MAX_CHECK_BYTES = 512 * 1024 * 1024
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
    """Parse ``sha256sum`` output (GNU or BSD-tag lines) strictly.

    Any malformed line is an :class:`InputError` naming its number; blank
    lines and ``#`` comments are skipped; a file with no checksum line is an
    error (it would otherwise "pass" while checking nothing).
    """
    if len(data) > MAX_CHECK_BYTES:
        raise InputError(f"{what}: larger than {MAX_CHECK_BYTES} bytes")
    out: list[ChecksumLine] = []
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        line = raw[:-1] if raw.endswith(b"\r") and not raw.startswith(b"\\") else raw
        if not line.strip() or line.startswith(b"#"):
            continue
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
        out.append(ChecksumLine(hexdigest.decode("ascii").lower(), name, lineno))
    if not out:
        raise InputError(f"{what}: no checksum lines found")
    return out
