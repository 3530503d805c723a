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

from dataclasses import dataclass, field
from datetime import date

from nebsign._internal import fields
from nebsign.errors import InputError, VerdictError
from nebsign.findings import Finding, Severity, Status
from nebsign.policy import policy_digest, policy_table
from nebsign.policy.levels import Level, LevelTable, globs

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
    #: ``[audit.severity]`` over :data:`_DEFAULT_SEVERITY`, and ``[audit.rules]`` (no overrides)
    levels: LevelTable = field(default_factory=lambda: LevelTable(severity=_DEFAULT_SEVERITY))
    scan_timeout: float = 600.0

    @classmethod
    def from_toml(cls, raw: bytes, what: str = "policy") -> AuditPolicy:
        table = policy_table(raw, "audit", _KEYS, what, dotted=True)
        w = f"{what}: [audit]"
        fail_on = fields.strings(
            table.get("fail_on", ["uncovered", "drifted", "open"]),
            f"{w}.fail_on",
            expected=f"a list drawn from {list(FAIL_ON)}",
        )
        if not set(fail_on) <= set(FAIL_ON):
            raise InputError(f"{w}.fail_on: a list drawn from {list(FAIL_ON)}")
        flags = {
            key: fields.boolean(table.get(key, False), f"{w}.{key}")
            for key in ("accept_sha1", "accept_acknowledged")
        }
        scan = fields.table(
            table.get("scan", {}),
            f"{w}.scan",
            allowed={"timeout"},
            expected="a table with 'timeout'",
        )
        timeout = fields.positive(
            scan.get("timeout", 600), f"{w}.scan.timeout", expected="seconds, more than 0"
        )
        return cls(
            digest=policy_digest(raw),
            required=globs(table.get("required", ["contracts/**"]), f"{w}.required"),
            fail_on=frozenset(fail_on),
            accept_sha1=flags["accept_sha1"],
            accept_acknowledged=flags["accept_acknowledged"],
            levels=LevelTable.from_table(table, w, None, defaults=_DEFAULT_SEVERITY),
            scan_timeout=float(min(timeout, 3600)),
        )

    def level_for(self, finding: Finding) -> Level:
        """Severity level, overridden by the firm id / detector in ``[audit.rules]``."""
        return self.levels.level_for(finding.severity, finding.rule_id, "", date.min)

    def is_open(self, finding: Finding) -> bool:
        """Not fixed: acknowledged and won't-fix are open unless the policy accepts them."""
        if finding.status in (Status.FIXED, Status.FALSE_POSITIVE):
            return False
        if finding.status in (Status.ACKNOWLEDGED, Status.ACCEPTED_RISK):
            return not self.accept_acknowledged
        return True
