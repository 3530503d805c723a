"""The ``[audit]`` policy table: which paths need an audit and what fails a release.

Example (policies/default.toml)::

    [audit]
    required = ["contracts/**", "chain/**"]    # release paths that need an audit
    fail_on = ["uncovered", "drifted", "open"]  # which lists fail the release
    accept_sha1 = false          # a SHA-1-only scope entry does not cover a file
    accept_acknowledged = false  # acknowledged / won't-fix findings still count as open
    [audit.severity]             # level per severity, as in [sast.severity]
    critical = "FAIL"
    high = "FAIL"

A finding is "open at or above the level" when its level (severity table,
then ``[audit.rules]`` by firm id or detector) is FAIL and it is not fixed
(nor a false positive; acknowledged and accepted-risk ones unless
``accept_acknowledged``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Severity, Status
from nebsign.policy import load_toml, policy_digest
from nebsign.policy.levels import Level, globs, rule_table, severity_table

__all__ = ["FAIL_ON", "AuditGateFailed", "AuditPolicy"]

FAIL_ON = ("uncovered", "drifted", "open", "weak")
_KEYS = frozenset(
    {"required", "fail_on", "accept_sha1", "accept_acknowledged", "severity", "rules", "scan"}
)
_DEFAULT_SEVERITY = {
    Severity.CRITICAL: Level.FAIL,
    Severity.HIGH: Level.FAIL,
    Severity.MEDIUM: Level.FAIL,
    Severity.LOW: Level.WARN,
    Severity.INFO: Level.INFO,
}


class AuditGateFailed(VerdictError):
    """The audit policy said no (uncovered, drifted or open findings)."""

    reason = "audit-gate-failed"


@dataclass(frozen=True, slots=True)
class AuditPolicy:
    """The parsed ``[audit]`` table."""

    digest: str
    required: tuple[str, ...] = ("contracts/**", "chain/**")
    fail_on: frozenset[str] = frozenset({"uncovered", "drifted", "open"})
    accept_sha1: bool = False
    accept_acknowledged: bool = False
    severity: Mapping[Severity, Level] = field(default_factory=lambda: dict(_DEFAULT_SEVERITY))
    rules: Mapping[str, Level] = field(default_factory=dict)
    scan_timeout: float = 600.0

    @classmethod
    def from_toml(cls, raw: bytes, what: str = "policy") -> AuditPolicy:
        doc = load_toml(raw, what)
        table = doc.get("audit")
        if not isinstance(table, dict):
            raise InputError(f"{what}: no [audit] table")
        w = f"{what}: [audit]"
        unknown = set(table) - _KEYS
        if unknown:
            raise InputError(f"{w}.{sorted(unknown)[0]}: unknown key")
        fail_on = table.get("fail_on", ["uncovered", "drifted", "open"])
        if (
            not isinstance(fail_on, list)
            or not all(isinstance(x, str) for x in fail_on)
            or not set(fail_on) <= set(FAIL_ON)
        ):
            raise InputError(f"{w}.fail_on: a list drawn from {list(FAIL_ON)}")
        flags = {}
        for key in ("accept_sha1", "accept_acknowledged"):
            value = table.get(key, False)
            if not isinstance(value, bool):
                raise InputError(f"{w}.{key}: true or false")
            flags[key] = value
        scan = table.get("scan", {})
        if not isinstance(scan, dict) or not set(scan) <= {"timeout"}:
            raise InputError(f"{w}.scan: a table with 'timeout'")
        timeout = scan.get("timeout", 600)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InputError(f"{w}.scan.timeout: seconds, more than 0")
        severity = dict(_DEFAULT_SEVERITY)
        severity.update(severity_table(table.get("severity", {}), f"{w}.severity"))
        return cls(
            digest=policy_digest(raw),
            required=globs(table.get("required", ["contracts/**"]), f"{w}.required"),
            fail_on=frozenset(fail_on),
            accept_sha1=flags["accept_sha1"],
            accept_acknowledged=flags["accept_acknowledged"],
            severity=severity,
            rules=rule_table(table.get("rules", {}), f"{w}.rules"),
            scan_timeout=float(min(timeout, 3600)),
        )

    def level_for(self, finding: Finding) -> Level:
        """Severity level, overridden by the firm id / detector in ``[audit.rules]``."""
        level = self.severity.get(finding.severity, Level.FAIL)
        return self.rules.get(finding.rule_id, level)

    def is_open(self, finding: Finding) -> bool:
        """Not fixed: acknowledged and won't-fix are open unless the policy accepts them."""
        if finding.status in (Status.FIXED, Status.FALSE_POSITIVE):
            return False
        if finding.status in (Status.ACKNOWLEDGED, Status.ACCEPTED_RISK):
            return not self.accept_acknowledged
        return True
