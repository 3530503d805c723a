"""The DAST gate: levels from the ``[dast]`` policy table, the baseline, the verdict.

Levels come from :class:`~nebsign.policy.levels.LevelTable` (severity, rules,
``[[dast.urls]]`` overrides matched against the URL path, each with an
optional ``until``), the same precedence as SAST. IGNORE findings are dropped
(counted). Baseline acceptances are matched by fingerprint
(:class:`~nebsign.baseline.Baseline`, the same file format). Server
errors caused by probes (anomalies) are reported apart and take the level
``anomalies`` (WARN by default); a scan cut short by its budget takes the
level ``incomplete`` (WARN by default). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from nebsign._internal import fields
from nebsign.baseline import Baseline
from nebsign.dast.scan import ScanOutcome
from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Severity, Status
from nebsign.policy import policy_digest, policy_table
from nebsign.policy.levels import ACCEPTED, Level, LevelTable, globs, judge, parse_level

__all__ = ["DastGateFailed", "DastPolicy", "DastVerdict"]

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

    reason = "dast-gate-failed"


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
        table = policy_table(raw, "dast", _KEYS, what)
        w = f"{what}: [dast]"

        def number(key: str, default: float, low: float, high: float) -> float:
            return fields.number(table.get(key, default), f"{w}.{key}", low=low, high=high)

        checks = table.get("checks")
        if checks is not None:
            from nebsign.dast.checks import REGISTRY

            expected = f"a list of check names ({', '.join(REGISTRY)})"
            checks = fields.strings(checks, f"{w}.checks", expected=expected)
            if not all(c in REGISTRY for c in checks):
                raise InputError(f"{w}.checks: {expected}")
        baseline = fields.maybe(
            fields.string, table.get("baseline"), f"{w}.baseline", expected="a file path"
        )
        return cls(
            digest=policy_digest(raw),
            levels=LevelTable.from_table(table, w, "urls", toml_table="dast"),
            anomalies=parse_level(table.get("anomalies", "WARN"), f"{w}.anomalies"),
            incomplete=parse_level(table.get("incomplete", "WARN"), f"{w}.incomplete"),
            exclude=globs(table.get("exclude", []), f"{w}.exclude"),
            checks=tuple(checks) if checks is not None else None,
            baseline=baseline,
            max_requests=int(number("max_requests", 5000, 1, 10_000_000)),
            time_budget=number("time_budget", 300, 1, 86_400),
            concurrency=int(number("concurrency", 8, 1, 256)),
            rate=number("rate", 100, 0, 100_000),
            timeout=number("timeout", 10, 0.1, 600),
            max_pages=int(number("max_pages", 200, 1, 1_000_000)),
        )

    def level_for(self, finding: Finding, today: date) -> Level:
        path = urlsplit(finding.location.url or "").path or "/"
        return self.levels.level_for(finding.severity, finding.rule_id, path, today)

    def evaluate(self, outcome: ScanOutcome, baseline: Baseline | None, today: date) -> DastVerdict:
        """Judge a scan; never raises for a failing verdict (see :meth:`verify`)."""
        judged = judge(outcome.findings, lambda f: self.level_for(f, today), baseline, today)
        return DastVerdict(
            findings=judged.findings,
            failing=judged.failing,
            ignored=judged.ignored,
            fixed=tuple(e.fingerprint for e in judged.fixed),
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
            "accepted": sum(1 for f in self.findings if f.status in ACCEPTED),
            "ignored_by_policy": self.ignored,
            "baseline_fixed": len(self.fixed),
            "anomalies": len(self.outcome.anomalies),
            "requests": self.outcome.requests,
            "endpoints": len(self.outcome.endpoints),
            "not_covered": self.outcome.not_covered_total,
        }
