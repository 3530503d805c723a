"""Escaping of untrusted text for the report's outputs (pure functions).

Every field of a finding is untrusted: scanners copy source text verbatim,
auditors write prose. These helpers are what the renderers apply to it:

* :func:`visible` shows invisible and direction-changing characters (bidi
  overrides and isolates, zero-width and other format characters, control
  characters) as ``⟨U+202E⟩``, so text cannot reorder or hide itself;
* :func:`md_text` escapes text for Markdown so it stays text: line breaks
  become spaces; every character that can start inline syntax (links,
  emphasis, code, HTML, entities, table cells) is backslash-escaped, as is
  a leading block marker (heading, list, quote) and what GFM would
  auto-link (``scheme://``, ``www.``, ``user@host``), so no link, heading,
  HTML tag, table cell or emphasis can come out of a finding;
* :func:`safe_url` keeps a URL only if it is ``http``/``https`` and plain;
* :func:`fence` picks a code fence longer than any backtick run inside.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["Raw", "fence", "md_text", "safe_url", "visible"]

_SUSPECT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f\ud800-\udfff]"
)
_INLINE = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#!|~&@$^"})
_WWW = re.compile(r"(?<=[wW]{3})\.")
_LEADING = re.compile(r"^([-+=]|\d+(?=[.)]))")
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"https?://[\x21-\x7e]{1,2000}", re.ASCII)
_BACKTICKS = re.compile(r"`+")


def _mark(m: re.Match[str]) -> str:
    return f"⟨U+{ord(m.group(0)):04X}⟩"


def visible(value: object) -> str:
    """*value* as text with control, format and bidi characters shown as ``⟨U+XXXX⟩``."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text
    out = _SUSPECT.sub(_mark, text)
    if any(unicodedata.category(c) == "Cf" for c in out):
        out = "".join(_mark_char(c) for c in out)
    return out


def _mark_char(c: str) -> str:
    return f"⟨U+{ord(c):04X}⟩" if unicodedata.category(c) == "Cf" else c


_MD_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,;'\"/?%(){}=+.:-]*")


def md_text(value: object) -> str:
    """Untrusted text as inert Markdown: one line, markup characters escaped."""
    text = value if isinstance(value, str) else str(value)
    if (
        _MD_PLAIN.fullmatch(text)
        and "  " not in text
        and "://" not in text
        and "www." not in text.lower()
        and not text.endswith(" ")
    ):
        return text  # letters first, nothing that Markdown reads: already inert
    text = visible(text)
    text = _SPACE.sub(" ", text).strip().translate(_INLINE).replace("://", "\\://")
    if "www" in text.lower():
        text = _WWW.sub("\\\\.", text)
    m = _LEADING.match(text)
    if m is None:
        return text
    if m.group(1)[0].isdigit():  # "1." / "1)" would start an ordered list
        end = m.end()
        return text[:end] + "\\" + text[end:]
    return "\\" + text


def safe_url(value: object) -> str | None:
    """*value* if it is a plain ``http(s)://`` URL (printable ASCII, no spaces), else None."""
    if isinstance(value, str) and _URL.fullmatch(value):
        return value
    return None


class Raw(str):
    """Markdown the renderer built itself (a fenced block): not escaped again."""

    __slots__ = ()


def fence(text: str, info: str = "") -> Raw:
    """A fenced code block holding *text* literally (fence longer than any backtick run)."""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    bar = "`" * max(3, longest + 1)
    body = visible(text).replace("\r", "")
    return Raw(f"{bar}{info}\n{body}\n{bar}")
