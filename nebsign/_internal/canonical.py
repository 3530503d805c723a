"""Canonical JSON (RFC 8785) and bounded, strict JSON parsing."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from nebsign.errors import InputError

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_SAFE_INTEGER",
    "canonical_json",
    "canonical_json_simple",
    "memory_estimate",
    "parse_json_object",
]

MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_SAFE_INTEGER = 2**53 - 1
#: the most Python memory a document may cost per byte of its text (estimated)
MAX_MEMORY_RATIO = 20
MEMORY_SLACK = 1024 * 1024
#: upper estimates of the bytes of Python objects each structural character
#: makes (CPython 3.11, 64-bit, measured with tracemalloc): "{" a small dict
#: and its slot, "[" a list with its over-allocation, "," a slot, ":" a dict
#: entry and the duplicate-check pair tuple, '"' half a string object
_WEIGHTS = ((b"{", 200), (b"[", 88), (b",", 16), (b":", 150), (b'"', 30))


def memory_estimate(raw: bytes) -> int:
    """An upper estimate of the bytes of Python objects :func:`json.loads` makes of *raw*.

    Counted with ``bytes.count`` (memchr speed) before parsing, so a document
    made to be small on disk and huge in memory (``[{},{},...]`` is 3 bytes of
    text and ~80 bytes of objects per item) is refused before it is parsed.
    Characters inside strings count too, which only overestimates.
    """
    return sum(raw.count(char) * weight for char, weight in _WEIGHTS)


def canonical_json(value: Any) -> bytes:
    """Serialize *value* as RFC 8785 canonical JSON bytes."""
    import rfc8785

    return bytes(rfc8785.dumps(value))


def canonical_json_simple(value: Any) -> bytes:
    """RFC 8785 bytes for *simple* values, at C speed.

    Precondition (the caller's schema guarantees it): object keys are ASCII,
    numbers are integers within +/- (2**53 - 1), strings are valid Unicode (no
    lone surrogates). For such values Python's encoder with sorted keys, no
    whitespace and ``ensure_ascii=False`` emits exactly RFC 8785: ASCII keys
    sort the same by code point as by UTF-16 unit, integers print the same,
    and string escaping matches ECMAScript's JSON.stringify (``\\b \\t \\n
    \\f \\r``, other controls as lowercase ``\\u00xx``, everything else
    raw UTF-8). A property test holds this against the ``rfc8785`` package.
    """
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode("utf-8")


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


#: I-JSON (RFC 7493 2.2): integers beyond this are not exact in other JSON parsers, and
#: RFC 8785 (canonical_json) refuses to write them
MAX_SAFE_INT = 2**53 - 1


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INT:
        raise ValueError(f"integer {text[:40]} is beyond the I-JSON range (|n| <= 2**53 - 1)")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):  # 1e999: JSON has no infinity to write back
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_unicode(value: Any) -> None:
    """Raise ValueError if any string in *value* holds a lone UTF-16 surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def parse_json_object(
    raw: bytes,
    what: str,
    *,
    limit: int = MAX_JSON_BYTES,
    check_duplicates: bool = True,
    error: type[InputError] = InputError,
    canonical_ints: bool = False,
) -> dict[str, Any]:
    """Parse *raw* as one JSON object or raise *error* (an :class:`InputError`) naming *what*.

    Rejects oversize input, input whose parsed objects would take more than
    :data:`MAX_MEMORY_RATIO` times its size (:func:`memory_estimate`), nesting
    deeper than the interpreter allows, invalid UTF-8, strings with a lone
    UTF-16 surrogate (I-JSON, RFC 7493: they cannot be printed or re-encoded),
    NaN/Infinity and numbers beyond them (``1e999``), duplicate keys and
    non-object top levels. A caller that afterwards requires the canonical
    form (which already refuses duplicate keys) may pass
    ``check_duplicates=False`` to parse at full C speed. A document that is written
    back as canonical JSON passes ``canonical_ints=True``: integers beyond I-JSON's
    exact range are refused on the way in, not when the value is written out.
    """
    if len(raw) > limit:
        raise error(f"{what}: {len(raw)} bytes exceeds the limit of {limit} bytes")
    if memory_estimate(raw) > MAX_MEMORY_RATIO * len(raw) + MEMORY_SLACK:
        raise error(
            f"{what}: too many JSON values for its size (empty objects, lists or strings "
            "packed together); refused before parsing"
        )
    hook = _no_duplicates if check_duplicates else None
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=hook,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_safe_int if canonical_ints else None,
        )
        if _SURROGATE_ESCAPE.search(raw):  # only an escape can make a lone surrogate
            _check_unicode(value)
    except UnicodeDecodeError as exc:
        raise error(f"{what}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise error(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except (ValueError, RecursionError) as exc:
        raise error(f"{what}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise error(f"{what}: expected a JSON object, found {type(value).__name__}")
    return value
