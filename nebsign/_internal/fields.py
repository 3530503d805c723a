"""The one validation kit: typed getters for fields of untrusted JSON and TOML.

Every parser of untrusted input (bundles, SARIF, findings, policies, audit files,
channel statements, the report's predicates) checks its fields with these getters,
parameterized by the error class it raises, exactly as
:func:`nebsign._internal.canonical.parse_json_object` is: ``error=InvalidBundle``
makes a malformed field exit 2 with the parser's own reason. Each getter returns
the value typed, or raises ``error(f"{what}: {expected}")`` where *what* names the
field (``"bundle: tlogEntries[0].logIndex"``) and *expected* says what it must be;
a caller may pass its own *expected* wording. Nothing else is ever raised: a value
of any type is either accepted or refused with *error*.

Rules shared by every getter: ``bool`` is never a number (``True`` is not ``1``);
numbers are finite; strings and lists have a length limit; unknown keys of a table
are refused with the first one named (escaped, cut to 80 characters).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from nebsign.errors import InputError

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "MAX_ITEMS",
    "MAX_TEXT",
    "argv",
    "arr",
    "boolean",
    "day",
    "decimal",
    "integer",
    "maybe",
    "number",
    "obj",
    "positive",
    "string",
    "strings",
    "table",
    "tables",
    "unknown_keys",
]

#: the default longest string a getter accepts (characters)
MAX_TEXT = 64 * 1024
#: the default longest list a getter accepts (items)
MAX_ITEMS = 1_000_000
_INT_TEXT = re.compile(r"-?[0-9]{1,19}")

Error = type[InputError]
T = TypeVar("T")


def _fail(error: Error, what: str, expected: str) -> NoReturn:
    raise error(f"{what}: {expected}")


def _printable(text: str, limit: int) -> str:
    from nebsign._internal.display import printable  # only to word a refusal

    return printable(text, limit)


def _name(key: object) -> str:
    return repr(_printable(str(key), 80))


def maybe(getter: Callable[..., T], value: object, what: str, **options: Any) -> T | None:
    """``None`` when *value* is absent (``None``), else ``getter(value, what, **options)``."""
    return None if value is None else getter(value, what, **options)


def unknown_keys(
    value: Mapping[Any, Any],
    allowed: Collection[str],
    what: str,
    *,
    error: Error = InputError,
    noun: str = "key",
    dotted: bool = False,
) -> None:
    """Refuse a key of *value* not in *allowed*, naming the first (sorted) one.

    The message is ``what: unknown key 'k'``, or with *dotted* ``what.k: unknown key``
    (for parsers whose every message starts with the field's path).
    """
    if isinstance(allowed, set | frozenset):
        if value.keys() <= allowed:
            return
    elif all(k in allowed for k in value):
        return
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown and dotted:
        _fail(error, f"{what}.{_printable(unknown[0], 80)}", f"unknown {noun}")
    if unknown:
        _fail(error, what, f"unknown {noun} {_name(unknown[0])}")


def _mapping(
    value: object,
    what: str,
    allowed: Collection[str] | None,
    error: Error,
    expected: str,
    noun: str,
) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(error, what, expected)
    if allowed is not None:
        unknown_keys(value, allowed, what, error=error, noun=noun)
    return value


def obj(
    value: object,
    what: str,
    *,
    allowed: Collection[str] | None = None,
    error: Error = InputError,
    expected: str = "must be an object",
    noun: str = "field",
) -> dict[str, Any]:
    """A JSON object; with *allowed*, an unknown field (*noun*) is refused by name."""
    if not isinstance(value, dict):
        _fail(error, what, expected)
    if allowed is not None:
        unknown_keys(value, allowed, what, error=error, noun=noun)
    return value


def table(value: object, what: str, **options: Any) -> dict[str, Any]:
    """A TOML table: :func:`obj` with "must be a table" and unknown *keys*."""
    return obj(value, what, **{"expected": "must be a table", "noun": "key", **options})


def arr(
    value: object,
    what: str,
    *,
    limit: int = MAX_ITEMS,
    error: Error = InputError,
    expected: str = "must be a list",
) -> list[Any]:
    """A list (JSON array, TOML array) of at most *limit* items."""
    if not isinstance(value, list):
        _fail(error, what, expected)
    if len(value) > limit:
        _fail(error, what, f"more than {limit} items")
    return value


def tables(
    value: object,
    what: str,
    *,
    allowed: Collection[str] | None = None,
    limit: int = MAX_ITEMS,
    error: Error = InputError,
    expected: str = "must be a list of tables",
) -> list[dict[str, Any]]:
    """A list of tables (``[[name]]`` in TOML, a list of objects in JSON)."""
    items = arr(value, what, limit=limit, error=error, expected=expected)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            _fail(error, what, expected)
        if allowed is not None:
            unknown_keys(item, allowed, f"{what}[{i}]", error=error)
    return items


def string(
    value: object,
    what: str,
    *,
    limit: int = MAX_TEXT,
    nonempty: bool = False,
    error: Error = InputError,
    expected: str = "must be a string",
) -> str:
    """A string of at most *limit* characters (valid Unicode: no lone surrogate)."""
    if not isinstance(value, str):
        _fail(error, what, expected)
    if len(value) > limit:
        _fail(error, what, f"longer than {limit} characters")
    if nonempty and not value.strip():
        _fail(error, what, "must not be empty")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _fail(error, what, "not valid Unicode (a lone surrogate)")
    return value


def strings(
    value: object,
    what: str,
    *,
    limit: int = MAX_ITEMS,
    text_limit: int = MAX_TEXT,
    nonempty: bool = False,
    min_items: int = 0,
    error: Error = InputError,
    expected: str = "must be a list of strings",
) -> tuple[str, ...]:
    """A list of at least *min_items* strings; with *nonempty*, no string may be empty."""
    items = arr(value, what, limit=limit, error=error, expected=expected)
    if len(items) < min_items:
        _fail(error, what, expected)
    for item in items:
        if not isinstance(item, str) or (nonempty and not item):
            _fail(error, what, expected)
        string(item, what, limit=text_limit, error=error, expected=expected)
    return tuple(items)


def argv(
    value: object,
    what: str,
    *,
    error: Error = InputError,
    expected: str = "must be a non-empty list of strings (argv)",
) -> tuple[str, ...]:
    """A command line: a non-empty list of strings whose program is an absolute path."""
    items = strings(value, what, limit=4096, error=error, expected=expected)
    if not items:
        _fail(error, what, expected)
    if not os.path.isabs(items[0]):
        _fail(error, what, "the program must be an absolute path")
    return items


def day(
    value: object,
    what: str,
    *,
    error: Error = InputError,
    expected: str = "must be a TOML date like 2026-12-31",
) -> date:
    """A TOML date; a TOML date-time counts as its day."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        _fail(error, what, expected)
    return value


def boolean(
    value: object, what: str, *, error: Error = InputError, expected: str = "must be true or false"
) -> bool:
    """``true`` or ``false`` (not 0/1, not a string)."""
    if not isinstance(value, bool):
        _fail(error, what, expected)
    return value


def integer(
    value: object,
    what: str,
    *,
    low: int | None = None,
    high: int | None = None,
    text: bool = False,
    error: Error = InputError,
    expected: str | None = None,
) -> int:
    """An integer in [*low*, *high*] (bool is not an integer).

    With *text*, a decimal string of at most 19 digits counts too (protobuf JSON
    writes int64 values as strings).
    """
    if isinstance(value, str) and text and _INT_TEXT.fullmatch(value):
        value = int(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (low is None or value >= low)
        and (high is None or value <= high)
    ):
        return value
    if expected is None:
        if low is not None and high is not None:
            expected = f"must be an integer in [{low}, {high}]"
        elif low is not None:
            expected = f"must be an integer >= {low}"
        elif high is not None:
            expected = f"must be an integer <= {high}"
        else:
            expected = "must be an integer"
    _fail(error, what, expected)


def number(
    value: object,
    what: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    error: Error = InputError,
    expected: str | None = None,
) -> float:
    """A finite int or float in [*low*, *high*] (``(low, high]`` with *low_open*), as float."""
    if expected is None:
        expected = f"must be a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(error, what, expected)
    try:
        result = float(value)
    except OverflowError:  # an int beyond float's range
        _fail(error, what, expected)
    if not math.isfinite(result) or result > high or result < low:
        _fail(error, what, expected)
    if low_open and result == low:
        _fail(error, what, expected)
    return result


def positive(
    value: object,
    what: str,
    *,
    integral: bool = False,
    error: Error = InputError,
    expected: str | None = None,
) -> int | float:
    """A number > 0 and finite; with *integral*, an integer. Returned as given."""
    kind = "a positive integer" if integral else "a positive, finite number"
    expected = expected or f"must be {kind}"
    if integral and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(error, what, expected)
    number(value, what, low=0, low_open=True, error=error, expected=expected)
    return cast("int | float", value)


def decimal(
    value: object,
    what: str,
    *,
    percent: bool = False,
    error: Error = InputError,
    expected: str | None = None,
) -> Decimal:
    """A finite number as an exact :class:`~decimal.Decimal` (a float by its shortest repr).

    With *percent*, a string like ``"5%"`` or ``"0.05"`` counts too (``"5%"`` is 0.05).
    """
    from decimal import Decimal, DecimalException  # the C module loads only for policies

    expected = expected or ('must be a number like "5%"' if percent else "must be a number")
    if isinstance(value, str) and percent:
        body, scale = value.strip(), Decimal(1)
        if body.endswith("%"):
            body, scale = body[:-1], Decimal("0.01")
        if len(body) > 100:
            _fail(error, what, expected)
        try:
            result = Decimal(body) * scale
        except DecimalException:
            _fail(error, what, f"{_printable(value, 40)!r} is not a number")
    elif isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        _fail(error, what, expected)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        result = Decimal(value)
    if not result.is_finite():
        _fail(error, what, f"{_printable(str(value), 40)!r} is not finite")
    return result
