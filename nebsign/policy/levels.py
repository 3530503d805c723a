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

Each table keeps its own defaults (``[sast]`` and ``[dast]``: every severity
FAIL; ``[audit]``: low WARN, info INFO) and its own override array
(``[[sast.paths]]``, ``[[dast.urls]]``; ``[audit]`` has none). :func:`judge`
applies a table's levels and a baseline to findings the same way for every
source. Pure: no I/O.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from nebsign._internal import fields
from nebsign.baseline import Baseline, BaselineEntry
from nebsign.errors import InputError
from nebsign.findings import Finding, Severity, Status

__all__ = [
    "ACCEPTED",
    "Judged",
    "Level",
    "LevelTable",
    "Override",
    "globs",
    "judge",
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
    out = {}
    for key, level in fields.table(value, what).items():
        try:
            sev = Severity(key)
        except ValueError as exc:
            raise InputError(f"{what}: unknown severity {key!r}") from exc
        out[sev] = parse_level(level, f"{what}.{key}")
    return out


def rule_table(value: object, what: str) -> dict[str, Level]:
    return {str(k): parse_level(v, f"{what}.{k}") for k, v in fields.table(value, what).items()}


def globs(value: object, what: str) -> tuple[str, ...]:
    return fields.strings(value, what, nonempty=True, expected="must be a list of glob strings")


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
    def from_table(cls, item: object, what: str, *, dated: bool = True) -> Override:
        """One override table; without *dated*, the table may not carry ``until``."""
        keys = _OVERRIDE_KEYS if dated else _OVERRIDE_KEYS - {"until"}
        expected = f"a table of {', '.join(sorted(keys))}"
        item = fields.table(item, what, allowed=keys, expected=expected)
        until = fields.maybe(fields.day, item.get("until"), f"{what}.until")
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
    def from_table(
        cls,
        table: Mapping[str, Any],
        what: str,
        overrides_key: str | None,
        *,
        defaults: Mapping[Severity, Level] | None = None,
        dated: bool = True,
        toml_table: str | None = None,
    ) -> LevelTable:
        """Read ``severity``, ``rules`` and the array ``overrides_key`` of *table*.

        *defaults* are the table's severity levels before its ``severity`` table
        (every severity FAIL when not given); ``overrides_key`` None: no overrides.
        *toml_table* is the table's name in the file (``sast``), so that a refusal
        shows the array as it is written there (``[[sast.paths]]``).
        """
        written = f"{toml_table}.{overrides_key}" if toml_table else overrides_key
        severity = dict(defaults) if defaults is not None else {s: Level.FAIL for s in Severity}
        severity.update(severity_table(table.get("severity", {}), f"{what}.severity"))
        raw = (
            fields.arr(
                table.get(overrides_key, []),
                f"{what}.{overrides_key}",
                expected=f"an array of tables ([[{written}]])",
            )
            if overrides_key is not None
            else []
        )
        return cls(
            severity=severity,
            rules=rule_table(table.get("rules", {}), f"{what}.rules"),
            overrides=tuple(
                Override.from_table(item, f"{what}.{overrides_key}[{i}]", dated=dated)
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


#: statuses that do not fail a gate: someone looked and accepted the finding
ACCEPTED = frozenset({Status.ACCEPTED_RISK, Status.FALSE_POSITIVE, Status.ACKNOWLEDGED})


@dataclass(frozen=True, slots=True)
class Judged:
    """Findings with their level (``properties["level"]``), IGNORE ones counted apart."""

    findings: tuple[Finding, ...]
    failing: tuple[Finding, ...]
    ignored: int
    fixed: tuple[BaselineEntry, ...]


def judge(
    findings: Iterable[Finding],
    level_of: Callable[[Finding], Level],
    baseline: Baseline | None,
    today: date,
) -> Judged:
    """Level every finding, drop IGNORE (counted), apply *baseline*; FAIL and not accepted fails.

    The one evaluation behind the SAST and DAST verdicts (each passes its own
    ``level_of``, which reads its :class:`LevelTable`).
    """
    levelled: list[Finding] = []
    ignored = 0
    for finding in findings:
        level = level_of(finding)
        if level is Level.IGNORE:
            ignored += 1
            continue
        levelled.append(replace(finding, properties={**finding.properties, "level": level.value}))
    fixed: list[BaselineEntry] = []
    if baseline is not None:
        levelled, fixed = baseline.match(levelled, today)
    failing = [
        f
        for f in levelled
        if f.properties["level"] == Level.FAIL.value and f.status not in ACCEPTED
    ]
    return Judged(tuple(levelled), tuple(failing), ignored, tuple(fixed))
