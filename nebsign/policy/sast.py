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
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nebsign._internal import fields
from nebsign._internal.safepath import check_relpath
from nebsign.baseline import Baseline, BaselineEntry
from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Severity, Status
from nebsign.outcome import ScanOutcome
from nebsign.policy import policy_digest, policy_table
from nebsign.policy.levels import ACCEPTED, Level, LevelTable, Override, judge, matches
from nebsign.policy.levels import globs as _globs
from nebsign.policy.levels import parse_level as _level

__all__ = ["SCANNERS", "Level", "PathRule", "SastGateFailed", "SastPolicy", "SastVerdict"]

#: scanner name -> "module:Class" of its :class:`~nebsign.sast.interface.Scanner`
#: subclass, imported only when a scan builds it (like the CLI's ``COMMANDS``). A new
#: backend is one module under ``nebsign/sast/`` and one line here; the policy accepts
#: exactly these names.
SCANNERS: dict[str, str] = {
    "bandit": "nebsign.sast.bandit:BanditScanner",
    "semgrep": "nebsign.sast.semgrep:SemgrepScanner",
}

#: what Python imports or runs by name (scripts with a Python shebang are found by content)
DEFAULT_INCLUDE = ("*.py", "*.pyw", "*.pth")
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


#: an override for findings in matching paths (``[[sast.paths]]``): the shared one
PathRule = Override


@dataclass(frozen=True, slots=True)
class SastPolicy:
    """The parsed ``[sast]`` table."""

    digest: str
    scanners: tuple[str, ...] = ("bandit", "semgrep")
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    #: ``[sast.severity]``, ``[sast.rules]`` and ``[[sast.paths]]`` (no ``until``)
    levels: LevelTable = field(default_factory=LevelTable)
    scanner_errors: Level = Level.FAIL
    per_file_timeout: float = 30.0
    semgrep_engine: str = "native"
    baseline: str | None = None
    #: an inline suppression counts only with a reason: ``# nosec B602 -- why``
    suppression_reason_required: bool = False

    @classmethod
    def from_toml(cls, raw: bytes, what: str = "policy") -> SastPolicy:
        table = policy_table(raw, "sast", _TOP_KEYS, what)
        w = f"{what}: [sast]"
        scanners = tuple(
            dict.fromkeys(
                fields.strings(
                    table.get("scanners", ["bandit", "semgrep"]),
                    f"{w}.scanners",
                    expected="a list of scanner names",
                )
            )
        )
        if not scanners or not set(scanners) <= set(SCANNERS):
            names = ", ".join(repr(n) for n in sorted(SCANNERS))
            raise InputError(f"{w}.scanners: choose from {names} (at least one)")
        timeout = fields.number(
            table.get("per_file_timeout", 30),
            f"{w}.per_file_timeout",
            low=0,
            high=3600,
            low_open=True,
            expected="seconds, in (0, 3600]",
        )
        engine = table.get("semgrep_engine", "native")
        if engine not in ("native", "python"):
            raise InputError(f"{w}.semgrep_engine: 'native' or 'python'")
        baseline = fields.maybe(
            fields.string,
            table.get("baseline"),
            f"{w}.baseline",
            expected="a path relative to the scanned root",
        )
        if baseline is not None:
            check_relpath(baseline, f"{w}.baseline")
        reason_required = fields.boolean(
            table.get("suppression_reason_required", False), f"{w}.suppression_reason_required"
        )
        return cls(
            suppression_reason_required=reason_required,
            digest=policy_digest(raw),
            scanners=scanners,
            include=_globs(table.get("include", list(DEFAULT_INCLUDE)), f"{w}.include"),
            exclude=_globs(table.get("exclude", []), f"{w}.exclude"),
            levels=LevelTable.from_table(table, w, "paths", dated=False, toml_table="sast"),
            scanner_errors=_level(table.get("scanner_errors", "FAIL"), f"{w}.scanner_errors"),
            per_file_timeout=timeout,
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

    @property
    def severity(self) -> Mapping[Severity, Level]:
        """``[sast.severity]`` over the default (every severity FAIL)."""
        return self.levels.severity

    @property
    def rules(self) -> Mapping[str, Level]:
        """``[sast.rules]``."""
        return self.levels.rules

    @property
    def paths(self) -> tuple[PathRule, ...]:
        """``[[sast.paths]]``."""
        return self.levels.overrides

    def level_for(self, finding: Finding) -> Level:
        """The shared precedence (:class:`~nebsign.policy.levels.LevelTable`) on the path."""
        return self.levels.level_for(
            finding.severity, finding.rule_id, finding.location.path or "", date.min
        )

    def evaluate(self, outcome: ScanOutcome, baseline: Baseline | None, today: date) -> SastVerdict:
        """Judge a scan; never raises for a failing verdict (see :meth:`verify`)."""
        judged = judge(outcome.findings, self.level_for, baseline, today)
        error_fails = self.scanner_errors is Level.FAIL and bool(outcome.errors)
        return SastVerdict(
            passed=not judged.failing and not error_fails,
            findings=judged.findings,
            failing=judged.failing,
            ignored=judged.ignored,
            fixed=judged.fixed,
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
            "accepted": sum(1 for f in self.findings if f.status in ACCEPTED),
            "ignored_by_policy": self.ignored,
            "suppressed_inline": {
                tool: suppressed.get(tool, 0) for tool in sorted(self.outcome.tools)
            },
            "baseline_fixed": len(self.fixed),
            "scanner_errors": len(self.outcome.errors),
        }
