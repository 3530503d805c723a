"""The DAST gate: levels from the ``[dast]`` policy table, the baseline, the verdict.

Levels come from :class:`~nebsign.policy.levels.LevelTable` (severity, rules,
``[[dast.urls]]`` overrides matched against the URL path, each with an
optional ``until``), the same precedence as SAST. IGNORE findings are dropped
(counted). Baseline acceptances are matched by fingerprint
(:class:`~nebsign.sast.baseline.Baseline`, the same file format). Server
errors caused by probes (anomalies) are reported apart and take the level
``anomalies`` (WARN by default); a scan cut short by its budget takes the
level ``incomplete`` (WARN by default). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from nebsign.dast.scan import ScanOutcome
from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Severity, Status
from nebsign.policy import load_toml, policy_digest
from nebsign.policy.levels import Level, LevelTable, globs, parse_level
from nebsign.sast.baseline import Baseline, BaselineEntry

__all__ = ["DastGateFailed", "DastPolicy", "DastVerdict"]

_ACCEPTED = {Status.ACCEPTED_RISK, Status.FALSE_POSITIVE, Status.ACKNOWLEDGED}
_KEYS = {
    "severity",
    "rules",
    "urls",
    "anomalies",
    "incomplete",
    "exclude",
    "checks",
    "baseline",
    "max_requests",
    "time_budget",
    "concurrency",
    "rate",
    "timeout",
    "max_pages",
}


class DastGateFailed(VerdictError):
    """The DAST policy said no."""


def _number(table: dict[str, Any], key: str, default: float, lo: float, hi: float, w: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InputError(f"{w}.{key}: a number in [{lo:g}, {hi:g}]")
    return float(value)


@dataclass(frozen=True, slots=True)
class DastPolicy:
    """The parsed ``[dast]`` table."""

    digest: str
    levels: LevelTable
    anomalies: Level = Level.WARN
    incomplete: Level = Level.WARN
    exclude: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    baseline: str | None = None
    max_requests: int = 5000
    time_budget: float = 300.0
    concurrency: int = 8
    rate: float = 100.0
    timeout: float = 10.0
    max_pages: int = 200

    @classmethod
    def from_toml(cls, raw: bytes, what: str = "policy") -> DastPolicy:
        doc = load_toml(raw, what)
        table = doc.get("dast")
        if not isinstance(table, dict):
            raise InputError(f"{what}: no [dast] table")
        unknown = set(table) - _KEYS
        if unknown:
            raise InputError(f"{what}: [dast]: unknown key {sorted(unknown)[0]!r}")
        w = f"{what}: [dast]"
        checks = table.get("checks")
        if checks is not None:
            from nebsign.dast.checks import REGISTRY

            if not isinstance(checks, list) or not all(c in REGISTRY for c in checks):
                raise InputError(f"{w}.checks: a list of check names ({', '.join(REGISTRY)})")
        baseline = table.get("baseline")
        if baseline is not None and not isinstance(baseline, str):
            raise InputError(f"{w}.baseline: a file path")
        return cls(
            digest=policy_digest(raw),
            levels=LevelTable.from_table(table, w, "urls"),
            anomalies=parse_level(table.get("anomalies", "WARN"), f"{w}.anomalies"),
            incomplete=parse_level(table.get("incomplete", "WARN"), f"{w}.incomplete"),
            exclude=globs(table.get("exclude", []), f"{w}.exclude"),
            checks=tuple(checks) if checks is not None else None,
            baseline=baseline,
            max_requests=int(_number(table, "max_requests", 5000, 1, 10_000_000, w)),
            time_budget=_number(table, "time_budget", 300, 1, 86_400, w),
            concurrency=int(_number(table, "concurrency", 8, 1, 256, w)),
            rate=_number(table, "rate", 100, 0, 100_000, w),
            timeout=_number(table, "timeout", 10, 0.1, 600, w),
            max_pages=int(_number(table, "max_pages", 200, 1, 1_000_000, w)),
        )

    def level_for(self, finding: Finding, today: date) -> Level:
        path = urlsplit(finding.location.url or "").path or "/"
        return self.levels.level_for(finding.severity, finding.rule_id, path, today)

    def evaluate(self, outcome: ScanOutcome, baseline: Baseline | None, today: date) -> DastVerdict:
        """Judge a scan; never raises for a failing verdict (see :meth:`verify`)."""
        levelled: list[Finding] = []
        ignored = 0
        for finding in outcome.findings:
            level = self.level_for(finding, today)
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
        return DastVerdict(
            findings=tuple(levelled),
            failing=tuple(failing),
            ignored=ignored,
            fixed=tuple(e.fingerprint for e in fixed),
            outcome=outcome,
            policy_digest=self.digest,
            anomalies_fail=self.anomalies is Level.FAIL and bool(outcome.anomalies),
            incomplete_fail=self.incomplete is Level.FAIL and outcome.not_covered_total > 0,
        )

    def verify(self, verdict: DastVerdict) -> None:
        if not verdict.passed:
            raise DastGateFailed(verdict.reason())


@dataclass(frozen=True, slots=True)
class DastVerdict:
    """The policy's judgement of one scan."""

    findings: tuple[Finding, ...]
    failing: tuple[Finding, ...]
    ignored: int
    fixed: tuple[str, ...]
    outcome: ScanOutcome
    policy_digest: str
    anomalies_fail: bool = False
    incomplete_fail: bool = False

    @property
    def passed(self) -> bool:
        return not self.failing and not self.anomalies_fail and not self.incomplete_fail

    def reason(self) -> str:
        parts = []
        if self.failing:
            parts.append(f"{len(self.failing)} finding(s) at level FAIL")
        if self.anomalies_fail:
            parts.append(f"{len(self.outcome.anomalies)} server error(s) caused by probes")
        if self.incomplete_fail:
            parts.append(f"{self.outcome.not_covered_total} check(s) not run within the budget")
        return "DAST policy failed: " + ", ".join(parts) if parts else "DAST policy passed"

    def counts(self) -> dict[str, Any]:
        open_ = [f for f in self.findings if f.status is Status.OPEN]
        by_severity = Counter(f.severity.value for f in open_)
        by_level = Counter(str(f.properties["level"]) for f in self.findings)
        kinds = Counter(str(f.properties.get("kind", "")) for f in open_)
        return {
            "open": {s.value: by_severity.get(s.value, 0) for s in Severity},
            "by_level": {
                lv.value: by_level.get(lv.value, 0) for lv in Level if lv is not Level.IGNORE
            },
            "active": kinds.get("active", 0),
            "passive": kinds.get("passive", 0),
            "failing": len(self.failing),
            "accepted": sum(1 for f in self.findings if f.status in _ACCEPTED),
            "ignored_by_policy": self.ignored,
            "baseline_fixed": len(self.fixed),
            "anomalies": len(self.outcome.anomalies),
            "requests": self.outcome.requests,
            "endpoints": len(self.outcome.endpoints),
            "not_covered": self.outcome.not_covered_total,
        }
