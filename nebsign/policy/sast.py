"""The SAST gate: which findings fail a change, from the ``[sast]`` policy table.

Each finding gets a level, IGNORE < INFO < WARN < FAIL:

1. the level of its severity (``[sast.severity]``), then the ``severity``
   table of each matching path override (``[[sast.paths]]``, in order);
2. the level of its rule, if listed (``[sast.rules]``);
3. each matching path override's blanket ``level``, then its ``rules`` table.

So the more specific setting wins: path+rule > path blanket > rule > path
severity > severity.

IGNORE findings are dropped from every output (counted only). A finding the
baseline accepts (unexpired) does not fail. Scanner errors take the level
``scanner_errors`` (FAIL by default: an unscanned file is not a clean file).
The verdict is FAIL if anything is left at level FAIL. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from nebsign._internal.safepath import check_relpath
from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Severity, Status
from nebsign.policy import load_toml, policy_digest
from nebsign.policy.levels import Level, matches
from nebsign.policy.levels import globs as _globs
from nebsign.policy.levels import parse_level as _level
from nebsign.policy.levels import rule_table as _rule_table
from nebsign.policy.levels import severity_table as _severity_table
from nebsign.sast.baseline import Baseline, BaselineEntry
from nebsign.sast.runner import ScanOutcome

__all__ = ["Level", "PathRule", "SastGateFailed", "SastPolicy", "SastVerdict"]

#: what Python imports or runs by name (scripts with a Python shebang are found by content)
DEFAULT_INCLUDE = ("*.py", "*.pyw", "*.pth")
_ACCEPTED = {Status.ACCEPTED_RISK, Status.FALSE_POSITIVE, Status.ACKNOWLEDGED}
_TOP_KEYS = {
    "scanners",
    "include",
    "exclude",
    "severity",
    "rules",
    "paths",
    "scanner_errors",
    "per_file_timeout",
    "semgrep_engine",
    "baseline",
    "suppression_reason_required",
}


class SastGateFailed(VerdictError):
    """The SAST policy said no."""

    reason = "sast-gate-failed"


@dataclass(frozen=True, slots=True)
class PathRule:
    """An override for findings in matching paths."""

    globs: tuple[str, ...]
    level: Level | None = None
    severity: Mapping[Severity, Level] = field(default_factory=dict)
    rules: Mapping[str, Level] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SastPolicy:
    """The parsed ``[sast]`` table."""

    digest: str
    scanners: tuple[str, ...] = ("bandit", "semgrep")
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    severity: Mapping[Severity, Level] = field(default_factory=dict)
    rules: Mapping[str, Level] = field(default_factory=dict)
    paths: tuple[PathRule, ...] = ()
    scanner_errors: Level = Level.FAIL
    per_file_timeout: float = 30.0
    semgrep_engine: str = "native"
    baseline: str | None = None
    #: an inline suppression counts only with a reason: ``# nosec B602 -- why``
    suppression_reason_required: bool = False

    @classmethod
    def from_toml(cls, raw: bytes, what: str = "policy") -> SastPolicy:
        doc = load_toml(raw, what)
        table = doc.get("sast")
        if not isinstance(table, dict):
            raise InputError(f"{what}: no [sast] table")
        unknown = set(table) - _TOP_KEYS
        if unknown:
            raise InputError(f"{what}: [sast]: unknown key {sorted(unknown)[0]!r}")
        w = f"{what}: [sast]"
        raw_scanners = table.get("scanners", ["bandit", "semgrep"])
        if not isinstance(raw_scanners, list) or not all(isinstance(s, str) for s in raw_scanners):
            raise InputError(f"{w}.scanners: a list of scanner names")
        scanners = tuple(dict.fromkeys(raw_scanners))
        if not scanners or not set(scanners) <= {"bandit", "semgrep"}:
            raise InputError(f"{w}.scanners: choose from 'bandit', 'semgrep' (at least one)")
        severity = {s: Level.FAIL for s in Severity}
        severity.update(_severity_table(table.get("severity", {}), f"{w}.severity"))
        paths = []
        raw_paths = table.get("paths", [])
        if not isinstance(raw_paths, list):
            raise InputError(f"{w}.paths: an array of tables ([[sast.paths]])")
        for i, item in enumerate(raw_paths):
            pw = f"{w}.paths[{i}]"
            if not isinstance(item, dict) or not set(item) <= {
                "globs",
                "level",
                "severity",
                "rules",
            }:
                raise InputError(f"{pw}: a table of globs, level, severity, rules")
            paths.append(
                PathRule(
                    globs=_globs(item.get("globs"), f"{pw}.globs"),
                    level=_level(item["level"], f"{pw}.level") if "level" in item else None,
                    severity=_severity_table(item.get("severity", {}), f"{pw}.severity"),
                    rules=_rule_table(item.get("rules", {}), f"{pw}.rules"),
                )
            )
        timeout = table.get("per_file_timeout", 30)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= 3600
        ):
            raise InputError(f"{w}.per_file_timeout: seconds, in (0, 3600]")
        engine = table.get("semgrep_engine", "native")
        if engine not in ("native", "python"):
            raise InputError(f"{w}.semgrep_engine: 'native' or 'python'")
        baseline = table.get("baseline")
        if baseline is not None:
            if not isinstance(baseline, str):
                raise InputError(f"{w}.baseline: a path relative to the scanned root")
            check_relpath(baseline, f"{w}.baseline")
        reason_required = table.get("suppression_reason_required", False)
        if not isinstance(reason_required, bool):
            raise InputError(f"{w}.suppression_reason_required: true or false")
        return cls(
            suppression_reason_required=reason_required,
            digest=policy_digest(raw),
            scanners=scanners,
            include=_globs(table.get("include", list(DEFAULT_INCLUDE)), f"{w}.include"),
            exclude=_globs(table.get("exclude", []), f"{w}.exclude"),
            severity=severity,
            rules=_rule_table(table.get("rules", {}), f"{w}.rules"),
            paths=tuple(paths),
            scanner_errors=_level(table.get("scanner_errors", "FAIL"), f"{w}.scanner_errors"),
            per_file_timeout=float(timeout),
            semgrep_engine=str(engine),
            baseline=baseline,
        )

    def selects(self, path: str) -> bool:
        """Whether *path* (relative POSIX) is in scope by its name alone."""
        return matches(path, self.include) and not matches(path, self.exclude)

    def includes(self, path: str) -> bool:
        """Whether *path* matches the ``include`` globs."""
        return matches(path, self.include)

    def excluded(self, path: str) -> bool:
        """Whether *path* matches the ``exclude`` globs."""
        return matches(path, self.exclude)

    def level_for(self, finding: Finding) -> Level:
        path = finding.location.path or ""
        scoped = [rule for rule in self.paths if matches(path, rule.globs)]
        level = self.severity.get(finding.severity, Level.FAIL)
        for rule in scoped:
            level = rule.severity.get(finding.severity, level)
        level = self.rules.get(finding.rule_id, level)
        for rule in scoped:
            if rule.level is not None:
                level = rule.level
            level = rule.rules.get(finding.rule_id, level)
        return level

    def evaluate(self, outcome: ScanOutcome, baseline: Baseline | None, today: date) -> SastVerdict:
        """Judge a scan; never raises for a failing verdict (see :meth:`verify`)."""
        levelled = []
        ignored = 0
        for finding in outcome.findings:
            level = self.level_for(finding)
            if level is Level.IGNORE:
                ignored += 1
                continue
            levelled.append(
                replace(finding, properties={**finding.properties, "level": level.value})
            )
        fixed: list[BaselineEntry] = []
        if baseline is not None:
            levelled, fixed = baseline.match(levelled, today)
        failing = [
            f
            for f in levelled
            if f.properties["level"] == Level.FAIL.value and f.status not in _ACCEPTED
        ]
        error_fails = self.scanner_errors is Level.FAIL and bool(outcome.errors)
        return SastVerdict(
            passed=not failing and not error_fails,
            findings=tuple(levelled),
            failing=tuple(failing),
            ignored=ignored,
            fixed=tuple(fixed),
            outcome=outcome,
            policy_digest=self.digest,
            errors_fail=error_fails,
        )

    def verify(self, verdict: SastVerdict) -> None:
        """Raise :class:`SastGateFailed` unless *verdict* passed."""
        if not verdict.passed:
            raise SastGateFailed(verdict.reason())


@dataclass(frozen=True, slots=True)
class SastVerdict:
    """The policy's judgement of one scan."""

    passed: bool
    findings: tuple[Finding, ...]
    failing: tuple[Finding, ...]
    ignored: int
    fixed: tuple[BaselineEntry, ...]
    outcome: ScanOutcome
    policy_digest: str
    errors_fail: bool = False

    def reason(self) -> str:
        parts = []
        if self.failing:
            parts.append(f"{len(self.failing)} finding(s) at level FAIL")
        if self.errors_fail:
            parts.append(f"{len(self.outcome.errors)} file(s) could not be scanned")
        return "SAST policy failed: " + ", ".join(parts) if parts else "SAST policy passed"

    def counts(self) -> dict[str, Any]:
        by_severity = Counter(f.severity.value for f in self.findings if f.status is Status.OPEN)
        by_level = Counter(str(f.properties["level"]) for f in self.findings)
        suppressed = Counter(s.tool for s in self.outcome.suppressed)
        return {
            "files": len(self.outcome.files),
            "open": {s.value: by_severity.get(s.value, 0) for s in Severity},
            "by_level": {
                lv.value: by_level.get(lv.value, 0) for lv in Level if lv is not Level.IGNORE
            },
            "failing": len(self.failing),
            "accepted": sum(1 for f in self.findings if f.status in _ACCEPTED),
            "ignored_by_policy": self.ignored,
            "suppressed_inline": {
                tool: suppressed.get(tool, 0) for tool in sorted(self.outcome.tools)
            },
            "baseline_fixed": len(self.fixed),
            "scanner_errors": len(self.outcome.errors),
        }
