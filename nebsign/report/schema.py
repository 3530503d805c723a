"""``report.json``: its published JSON Schema and the one parser that checks it.

The schema (``report.schema.json`` beside this module, JSON Schema 2020-12)
is the contract of ``report.json``. :func:`parse_report` checks a document
against it with a small validator for exactly the keywords the schema uses
(``type``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``maxItems``, ``maxLength``, ``enum``, ``const``, ``pattern``), so
``report verify`` and ``--previous`` need no schema library and run in
linear time; the tests hold it to the ``jsonschema`` package's verdicts.
Anything the renderers read is checked, so a valid document always renders.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nebsign._internal.canonical import parse_json_object
from nebsign.errors import InputError

__all__ = ["MAX_REPORT_BYTES", "InvalidReport", "parse_report", "report_schema", "validate"]

MAX_REPORT_BYTES = 256 * 1024 * 1024
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")

_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


class InvalidReport(InputError):
    """``report.json`` is malformed or does not follow its schema."""

    reason = "invalid-report"


@functools.cache
def report_schema() -> dict[str, Any]:
    """The published schema of ``report.json``."""
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _type_ok(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def validate(value: Any, schema: dict[str, Any], where: str = "report") -> None:
    """Raise :class:`InvalidReport` naming the first place *value* breaks *schema*."""
    if "const" in schema and value != schema["const"]:
        raise InvalidReport(f"{where}: must be {schema['const']!r}")
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        raise InvalidReport(f"{where}: not one of the allowed values")
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        if not any(_type_ok(value, n) for n in names):
            raise InvalidReport(f"{where}: must be {' or '.join(names)}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            raise InvalidReport(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            raise InvalidReport(f"{where}: not in the expected format")
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            raise InvalidReport(f"{where}: more than {schema['maxItems']} items")
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(value):
                validate(item, items, f"{where}[{i}]")
    elif isinstance(value, dict):
        _validate_object(value, schema, where)


def _validate_object(value: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    props: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in value:
            raise InvalidReport(f"{where}: missing {key!r}")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        sub = props.get(key)
        if sub is None:
            if extra is False:
                raise InvalidReport(f"{where}: unknown key {key[:40]!r}")
            if isinstance(extra, dict):
                validate(item, extra, f"{where}.{key[:40]}")
            continue
        validate(item, sub, f"{where}.{key}")


Check = Callable[[Any], bool]


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}


def _leaf(schema: dict[str, Any]) -> Check | None:
    """One closure for the common leaves: typed strings/ints/bools, string enums."""
    if set(schema) <= {"type", "maxLength"} and "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if any(n in ("object", "array", "number") for n in names):
            return None
        types = frozenset(t for n in names for t in _PY_TYPES[n])
        most = schema.get("maxLength", 1 << 62)
        return lambda v: type(v) in types and (type(v) is not str or len(v) <= most)
    if set(schema) == {"enum"} and all(e is None or type(e) is str for e in schema["enum"]):
        allowed = frozenset(e for e in schema["enum"] if e is not None)
        nullable = None in schema["enum"]
        return lambda v: (v is None and nullable) or (type(v) is str and v in allowed)
    return None


def _compile(schema: dict[str, Any]) -> Check:
    """A fast yes/no check equivalent to :func:`validate` (which then names the place)."""
    leaf = _leaf(schema)
    if leaf is not None:
        return leaf
    checks: list[Check] = []
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: v == const and type(v) is type(const))
    if "enum" in schema:
        allowed = [(e, type(e)) for e in schema["enum"]]
        checks.append(lambda v: any(v == e and type(v) is t for e, t in allowed))
    kinds = schema.get("type")
    if kinds is not None:
        names = tuple(kinds if isinstance(kinds, list) else [kinds])
        checks.append(lambda v: any(_type_ok(v, n) for n in names))
    if "maxLength" in schema or "pattern" in schema:
        most = schema.get("maxLength")
        pat = _pattern(schema["pattern"]) if "pattern" in schema else None
        checks.append(
            lambda v: (
                not isinstance(v, str)
                or ((most is None or len(v) <= most) and (pat is None or pat.search(v) is not None))
            )
        )
    if "items" in schema or "maxItems" in schema:
        item = _compile(schema.get("items", {}))
        most_items = schema.get("maxItems")
        checks.append(
            lambda v: (
                not isinstance(v, list)
                or ((most_items is None or len(v) <= most_items) and all(map(item, v)))
            )
        )
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        props = {k: _compile(sub) for k, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        extra_check = _compile(extra) if isinstance(extra, dict) else None
        closed = extra is False and set(required) == set(props)

        def obj(v: Any) -> bool:
            if type(v) is not dict:
                return True
            if closed:  # exactly the listed keys
                if len(v) != len(props):
                    return False
                try:
                    return all(props[k](x) for k, x in v.items())
                except KeyError:
                    return False
            if any(k not in v for k in required):
                return False
            for k, x in v.items():
                sub = props.get(k)
                if sub is not None:
                    if not sub(x):
                        return False
                elif extra is False or (extra_check is not None and not extra_check(x)):
                    return False
            return True

        checks.append(obj)
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(c(v) for c in checks)


@functools.cache
def _report_check() -> Check:
    return _compile(report_schema())


def parse_report(raw: bytes, what: str = "report.json") -> dict[str, Any]:
    """Parse and check ``report.json`` bytes; :class:`InvalidReport` if anything is off."""
    doc = parse_json_object(raw, what, limit=MAX_REPORT_BYTES, error=InvalidReport)
    try:
        if not _report_check()(doc):
            validate(doc, report_schema(), what)  # names the first problem
            raise InvalidReport(f"{what}: does not follow its schema")  # pragma: no cover
    except RecursionError as exc:  # pragma: no cover - the schema bounds depth
        raise InvalidReport(f"{what}: nested too deeply") from exc
    return doc
