"""Names from outside (inbox entries, URLs, archive members) made safe to print and log.

A name is data: a newline in it must not start a new log line, an escape
sequence must not reach the terminal, and bytes that are not UTF-8 (which
``os.listdir`` returns as lone surrogates) must neither crash an encoder nor
disappear. :func:`printable` maps every such character to a visible escape
(``\\n``, ``\\x1b``, ``\\xff`` for an undecodable byte, ``\\u202e`` for
anything else :meth:`str.isprintable` rejects) and doubles backslashes, so
the text is unambiguous (distinct names stay distinct) and one line.
"""

from __future__ import annotations

__all__ = ["printable", "safe_line"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of one raw byte >= 0x80
        return f"\\x{code - 0xDC00:02x}"
    if ch.isprintable():
        return ch
    if code < 0x80:  # ASCII controls: \x00-\x7f never collide with the raw bytes above
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


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
