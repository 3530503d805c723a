"""Policy levels shared by every findings gate (SAST, DAST, audits).

A finding gets a level, IGNORE < INFO < WARN < FAIL, from a :class:`LevelTable`:

1. the level of its severity (``severity``), then the ``severity`` table of
   each matching scoped override, in order;
2. the level of its rule, if listed (``rules``);
3. each matching override's blanket ``level``, then its ``rules`` table.

The more specific setting wins: scope+rule > scope blanket > rule > scope
severity > severity (the order ``[sast]`` has used since ADR 0003). An
override may carry ``until`` (a TOML date): after that day it no longer
applies, so a temporary relaxation ends by itself. "Scope" is whatever string
the gate matches globs against: a file path for SAST, a URL path for DAST.
Pure: no I/O.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from nebsign.errors import InputError
from nebsign.findings import Severity

__all__ = [
    "Level",
    "LevelTable",
    "Override",
    "globs",
    "matches",
    "parse_level",
    "rule_table",
    "severity_table",
]


class Level(enum.Enum):
    """What a finding does to the verdict."""

    IGNORE = "IGNORE"
    INFO = "INFO"
    WARN = "WARN"
    FAIL = "FAIL"


def parse_level(value: object, what: str) -> Level:
    """``"fail"``/``"FAIL"`` etc. to a :class:`Level`; :class:`InputError` otherwise."""
    if isinstance(value, str):
        try:
            return Level(value.upper())
        except ValueError:
            pass
    raise InputError(f"{what}: level must be IGNORE, INFO, WARN or FAIL, not {value!r}")


def severity_table(value: object, what: str) -> dict[Severity, Level]:
    if not isinstance(value, dict):
        raise InputError(f"{what}: must be a table")
    out = {}
    for key, level in value.items():
        try:
            sev = Severity(key)
        except ValueError as exc:
            raise InputError(f"{what}: unknown severity {key!r}") from exc
        out[sev] = parse_level(level, f"{what}.{key}")
    return out


def rule_table(value: object, what: str) -> dict[str, Level]:
    if not isinstance(value, dict):
        raise InputError(f"{what}: must be a table")
    return {str(k): parse_level(v, f"{what}.{k}") for k, v in value.items()}


def globs(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(g, str) and g for g in value):
        raise InputError(f"{what}: must be a list of glob strings")
    return tuple(value)


def matches(path: str, globs: Sequence[str]) -> bool:
    """Whether relative POSIX *path* matches one of *globs*.

    ``dir/`` matches everything under ``dir`` at the root only; ``**/dir/``
    matches a directory of that name at any depth. Other globs are fnmatch
    patterns on the whole path, where ``*`` also crosses ``/``.
    """
    for glob in globs:
        if glob.endswith("/"):
            if glob.startswith("**/"):
                if f"/{glob[3:]}" in f"/{path}":
                    return True
            elif path.startswith(glob):
                return True
        elif fnmatch.fnmatchcase(path, glob):
            return True
    return False


_OVERRIDE_KEYS = {"globs", "level", "severity", "rules", "until"}


@dataclass(frozen=True, slots=True)
class Override:
    """Levels for findings whose scope string matches ``globs`` (until a date)."""

    globs: tuple[str, ...]
    level: Level | None = None
    severity: Mapping[Severity, Level] = field(default_factory=dict)
    rules: Mapping[str, Level] = field(default_factory=dict)
    until: date | None = None

    def applies(self, where: str, today: date) -> bool:
        if self.until is not None and self.until < today:
            return False
        return matches(where, self.globs)

    @classmethod
    def from_table(cls, item: object, what: str) -> Override:
        if not isinstance(item, dict) or not set(item) <= _OVERRIDE_KEYS:
            raise InputError(f"{what}: a table of {', '.join(sorted(_OVERRIDE_KEYS))}")
        until = item.get("until")
        if isinstance(until, datetime):
            until = until.date()
        if until is not None and not isinstance(until, date):
            raise InputError(f"{what}.until: a TOML date like 2026-12-31")
        return cls(
            globs=globs(item.get("globs"), f"{what}.globs"),
            level=parse_level(item["level"], f"{what}.level") if "level" in item else None,
            severity=severity_table(item.get("severity", {}), f"{what}.severity"),
            rules=rule_table(item.get("rules", {}), f"{what}.rules"),
            until=until,
        )


@dataclass(frozen=True, slots=True)
class LevelTable:
    """Severity levels, rule levels and scoped overrides, applied in that order."""

    severity: Mapping[Severity, Level] = field(default_factory=dict)
    rules: Mapping[str, Level] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()
    default: Level = Level.FAIL

    @classmethod
    def from_table(cls, table: Mapping[str, Any], what: str, overrides_key: str) -> LevelTable:
        """Read ``severity``, ``rules`` and the array ``overrides_key`` of *table*."""
        severity = {s: Level.FAIL for s in Severity}
        severity.update(severity_table(table.get("severity", {}), f"{what}.severity"))
        raw = table.get(overrides_key, [])
        if not isinstance(raw, list):
            raise InputError(f"{what}.{overrides_key}: an array of tables")
        return cls(
            severity=severity,
            rules=rule_table(table.get("rules", {}), f"{what}.rules"),
            overrides=tuple(
                Override.from_table(item, f"{what}.{overrides_key}[{i}]")
                for i, item in enumerate(raw)
            ),
        )

    def level_for(self, severity: Severity, rule_id: str, where: str, today: date) -> Level:
        scoped = [o for o in self.overrides if o.applies(where, today)]
        level = self.severity.get(severity, self.default)
        for o in scoped:
            level = o.severity.get(severity, level)
        level = self.rules.get(rule_id, level)
        for o in scoped:
            if o.level is not None:
                level = o.level
            level = o.rules.get(rule_id, level)
        return level
