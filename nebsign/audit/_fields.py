"""Field validation for audit inputs: the kit (:mod:`nebsign._internal.fields`) bound to
:class:`InvalidAuditInput`; every error names the field path (exit 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebsign._internal import fields
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

MAX_TEXT = fields.MAX_TEXT


class InvalidAuditInput(InputError):
    """An audit file, Slither JSON, SARIF log or contest report is malformed."""

    reason = "invalid-audit-input"


def obj(value: object, where: str) -> dict[str, Any]:
    return fields.obj(value, where, error=InvalidAuditInput)


def arr(value: object, where: str, *, limit: int = 1_000_000) -> list[Any]:
    return fields.arr(value, where, limit=limit, error=InvalidAuditInput)


def req_str(o: Mapping[str, Any], key: str, where: str, *, limit: int = MAX_TEXT) -> str:
    if key not in o:
        raise InvalidAuditInput(f"{where}.{key}: missing")
    return fields.string(
        o[key], f"{where}.{key}", limit=limit, nonempty=True, error=InvalidAuditInput
    )


def opt_str(o: Mapping[str, Any], key: str, where: str, *, limit: int = MAX_TEXT) -> str | None:
    return fields.maybe(
        fields.string, o.get(key), f"{where}.{key}", limit=limit, error=InvalidAuditInput
    )


def opt_int(o: Mapping[str, Any], key: str, where: str) -> int | None:
    return fields.maybe(
        fields.integer,
        o.get(key),
        f"{where}.{key}",
        low=1,
        high=10_000_000,
        error=InvalidAuditInput,
        expected="must be a positive integer",
    )


def no_unknown(o: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    fields.unknown_keys(o, known, where, error=InvalidAuditInput, noun="field", dotted=True)


def relpath(value: str, where: str) -> str:
    """A safe relative POSIX path (:func:`check_relpath`), else an error naming *where*."""
    from nebsign._internal.safepath import check_relpath
    from nebsign.errors import InputError

    try:
        return check_relpath(value, where)
    except InputError as exc:
        raise InvalidAuditInput(exc.message) from exc
