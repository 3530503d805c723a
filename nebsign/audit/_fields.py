"""Field validation for audit inputs: every error names the field path (exit 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebsign.errors import InputError

__all__ = [
    "MAX_TEXT",
    "InvalidAuditInput",
    "arr",
    "no_unknown",
    "obj",
    "opt_int",
    "opt_str",
    "relpath",
    "req_str",
]

MAX_TEXT = 64 * 1024


class InvalidAuditInput(InputError):
    """An audit file, Slither JSON, SARIF log or contest report is malformed."""

    reason = "invalid-audit-input"


def obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidAuditInput(f"{where}: must be an object")
    return value


def arr(value: object, where: str, *, limit: int = 1_000_000) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidAuditInput(f"{where}: must be a list")
    if len(value) > limit:
        raise InvalidAuditInput(f"{where}: more than {limit} items")
    return value


def _text(value: object, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidAuditInput(f"{where}: must be a string")
    if len(value) > limit:
        raise InvalidAuditInput(f"{where}: longer than {limit} characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidAuditInput(f"{where}: not valid Unicode") from exc
    return value


def req_str(o: Mapping[str, Any], key: str, where: str, *, limit: int = MAX_TEXT) -> str:
    if key not in o:
        raise InvalidAuditInput(f"{where}.{key}: missing")
    text = _text(o[key], f"{where}.{key}", limit)
    if not text.strip():
        raise InvalidAuditInput(f"{where}.{key}: empty")
    return text


def opt_str(o: Mapping[str, Any], key: str, where: str, *, limit: int = MAX_TEXT) -> str | None:
    if o.get(key) is None:
        return None
    return _text(o[key], f"{where}.{key}", limit)


def opt_int(o: Mapping[str, Any], key: str, where: str) -> int | None:
    value = o.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000_000:
        raise InvalidAuditInput(f"{where}.{key}: must be a positive integer")
    return value


def no_unknown(o: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = set(o) - known
    if unknown:
        raise InvalidAuditInput(f"{where}.{sorted(unknown)[0]}: unknown field")


def relpath(value: str, where: str) -> str:
    """A safe relative POSIX path (:func:`check_relpath`), else an error naming *where*."""
    from nebsign._internal.safepath import check_relpath
    from nebsign.errors import InputError

    try:
        return check_relpath(value, where)
    except InputError as exc:
        raise InvalidAuditInput(exc.message) from exc
