"""Levels shared by every policy that judges findings (SAST, audit, ...).

A finding gets a level, IGNORE < INFO < WARN < FAIL, from its severity, its
rule and the path it is in; these are the parsers of those tables and the
one glob matcher they use. Pure: no I/O.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Sequence

from nebsign.errors import InputError
from nebsign.findings import Severity

__all__ = ["Level", "globs", "matches", "parse_level", "rule_table", "severity_table"]


class Level(enum.Enum):
    """What a finding does to the verdict."""

    IGNORE = "IGNORE"
    INFO = "INFO"
    WARN = "WARN"
    FAIL = "FAIL"


def parse_level(value: object, what: str) -> Level:
    """A level from its name (any case); :class:`InputError` naming *what* otherwise."""
    if not isinstance(value, str):
        raise InputError(f"{what}: level must be IGNORE, INFO, WARN or FAIL, not {value!r}")
    try:
        return Level(value.upper())
    except ValueError as exc:
        raise InputError(
            f"{what}: level must be IGNORE, INFO, WARN or FAIL, not {value!r}"
        ) from exc


def severity_table(value: object, what: str) -> dict[Severity, Level]:
    """``{severity: level}`` from a TOML table such as ``[sast.severity]``."""
    if not isinstance(value, dict):
        raise InputError(f"{what}: must be a table")
    out = {}
    for key, level in value.items():
        try:
            out[Severity(key)] = parse_level(level, f"{what}.{key}")
        except ValueError as exc:
            raise InputError(f"{what}: unknown severity {key!r}") from exc
    return out


def rule_table(value: object, what: str) -> dict[str, Level]:
    """``{rule id: level}`` from a TOML table such as ``[sast.rules]``."""
    if not isinstance(value, dict):
        raise InputError(f"{what}: must be a table")
    return {str(k): parse_level(v, f"{what}.{k}") for k, v in value.items()}


def globs(value: object, what: str) -> tuple[str, ...]:
    """A non-empty list of non-empty glob strings."""
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
