"""Names from outside, made safe to print and log: the one escaping helper.

A name is data (a file in a release, an inbox entry, a URL, an archive member,
a metric label): a newline in it must not start a new log line, an escape
sequence must not reach the terminal, bytes that are not UTF-8 (which
``os.listdir`` returns as lone surrogates) must neither crash an encoder nor
disappear, and two different names must never print alike. Every character
that is unsafe maps to a visible escape, with backslashes doubled so the
escapes are unambiguous:

* ``\\n``, ``\\r``, ``\\t``; other ASCII controls as ``\\xNN`` (ESC is ``\\x1b``);
* a byte that was not UTF-8 (surrogate-escaped by the file system decoding)
  as ``\\xNN`` (``\\x80``-``\\xff``, never colliding with the ASCII ones);
* anything else :meth:`str.isprintable` rejects as ``\\uXXXX`` / ``\\UXXXXXXXX``.

Four uses, one character map:

* :func:`display_path` -- a file name (the CLI's ``shown()``): also marks the
  combining characters of a name that is not NFC, so ``café`` (NFC) and
  ``cafe\\u0301`` (NFD), two different files, never print alike;
* :func:`printable` -- any outside name, cut to a length (agent, fetch);
* :func:`safe_line` -- a last guard on a line already built from escaped names;
* :func:`quoted` -- a value printed between double quotes (metric labels):
  ``"`` is escaped too.
"""

from __future__ import annotations

import unicodedata

__all__ = ["display_path", "printable", "quoted", "safe_line"]

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(ch: str, *, mark_combining: bool = False) -> str:
    """One character as it is printed."""
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of one raw byte >= 0x80
        return f"\\x{code - 0xDC00:02x}"
    if ch.isprintable() and not (mark_combining and unicodedata.combining(ch)):
        return ch
    if code < 0x80:  # ASCII controls: \x00-\x7f never collide with the raw bytes above
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def display_path(path: str) -> str:
    """*path* for a terminal or a log line.

    Printed as is when it is printable, valid Unicode and in NFC (the common
    case). Otherwise escaped (the module's character map), and in a name that
    is not NFC its combining marks as ``\\uXXXX``.
    """
    nfc = _is_nfc(path)
    if nfc and path.isprintable():
        return path
    return "".join(_escape(c, mark_combining=not nfc) for c in path)


def printable(text: str, limit: int = 1024) -> str:
    """*text* with every unsafe character escaped, cut to about *limit* characters."""
    if text.isprintable() and "\\" not in text and len(text) <= limit:
        return text
    out = "".join(_escape(c) for c in text[:limit])
    return out + "..." if len(text) > limit else out


def safe_line(text: str) -> str:
    """*text* (already built from escaped names) with any remaining unsafe character escaped.

    Backslashes are kept, so applying it to text that :func:`printable`
    produced changes nothing: a last guard where a line is printed.
    """
    if text.isprintable():
        return text
    return "".join(c if c == "\\" else _escape(c) for c in text)


def quoted(text: str) -> str:
    """*text* escaped for printing between double quotes: ``"`` as ``\\"``, the rest as above."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join('\\"' if c == '"' else _escape(c) for c in text)


def _is_nfc(text: str) -> bool:
    try:
        return unicodedata.is_normalized("NFC", text)
    except UnicodeError:  # pragma: no cover - lone surrogates normalize fine in CPython
        return False
