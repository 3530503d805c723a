"""Names as they are printed: one line each, and two different names never look alike."""

from __future__ import annotations

import unicodedata

__all__ = ["display_path"]


def display_path(path: str) -> str:
    """*path* for a terminal or a log line.

    Printed as is when it is printable, valid Unicode and in NFC (the common
    case). Otherwise escaped, with backslashes doubled so the escapes are
    unambiguous: control characters and other non-printables as ``\\n``,
    ``\\t``, ``\\x1b`` (ASCII) or ``\\uXXXX``; bytes that were not UTF-8 (surrogate-escaped
    by the file system decoding) as ``\\xNN``; and, in a name that is not
    NFC, its combining marks as ``\\uXXXX``, so ``café`` (NFC) and
    ``cafe\\u0301`` (NFD), two different files, never print alike.
    """
    nfc = _is_nfc(path)
    if nfc and path.isprintable():
        return path
    out: list[str] = []
    for ch in path:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _SHORT:
            out.append(_SHORT[ch])
        elif code < 0x80 and not ch.isprintable():  # ASCII controls: ESC is \x1b
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() or (not nfc and unicodedata.combining(ch)):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_nfc(text: str) -> bool:
    try:
        return unicodedata.is_normalized("NFC", text)
    except UnicodeError:  # pragma: no cover - lone surrogates normalize fine in CPython
        return False
