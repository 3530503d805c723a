"""Coverage and drift: does the release ship exactly the bytes the audits saw? (pure)

:func:`check_release` takes a release manifest, the imported audits and the
``[audit]`` policy and lists every required file no audit covers, every file
whose SHA-256 differs from the audited one, files covered only by SHA-1
(weaker evidence), and every open finding at or above the policy's level.
:func:`judge` turns that into a verdict; without a manifest only the
findings are judged (``coverage`` is then ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nebsign.audit.model import Audit, ScopeEntry
from nebsign.audit.policy import AuditPolicy
from nebsign.findings import Finding
from nebsign.policy.levels import Level, matches

if TYPE_CHECKING:
    from nebsign.manifest import Manifest

__all__ = ["AuditVerdict", "Coverage", "Drift", "Weak", "check_release", "judge", "merge"]


@dataclass(frozen=True, slots=True)
class Drift:
    """A required file whose bytes differ from every audited version."""

    path: str
    audited: str
    released: str
    auditors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "audited_sha256": self.audited,
            "released_sha256": self.released,
            "auditors": list(self.auditors),
        }


@dataclass(frozen=True, slots=True)
class Weak:
    """A required file covered only by a SHA-1 scope entry."""

    path: str
    sha1: str
    matched: bool | None
    auditors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha1": self.sha1,
            "matched": self.matched,
            "auditors": list(self.auditors),
            "weak": True,
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """What :func:`check_release` found."""

    required: int
    covered: tuple[str, ...]
    uncovered: tuple[str, ...]
    drifted: tuple[Drift, ...]
    weak: tuple[Weak, ...]

    def to_dict(self, open_findings: Sequence[Finding]) -> dict[str, Any]:
        return {
            "required": self.required,
            "covered": len(self.covered),
            "uncovered": list(self.uncovered),
            "drifted": [d.to_dict() for d in self.drifted],
            "weak": [w.to_dict() for w in self.weak],
            "open_at_or_above_level": [_brief(f) for f in open_findings],
        }


def _brief(f: Finding) -> dict[str, Any]:
    return {
        "tool": f.tool,
        "id": f.rule_id,
        "severity": f.severity.value,
        "original_severity": f.properties.get("original_severity", ""),
        "status": f.status.value,
        "original_status": f.properties.get("original_status", ""),
        "title": f.title,
        "location": str(f.location),
        "fingerprint": f.fingerprint,
    }


def merge(audits: Sequence[Audit]) -> tuple[list[Audit], list[str]]:
    """Drop the SARIF copy of a Slither run also given as JSON (SARIF loses findings
    without a location); returns the audits kept and a note per dropped one."""
    has_json = any(a.kind == "slither" for a in audits)
    kept, notes = [], []
    for audit in audits:
        tools = {f.tool.lower() for f in audit.findings}
        if has_json and audit.kind == "sarif" and tools and tools <= {"slither"}:
            notes.append(
                "Slither SARIF ignored: the Slither JSON of the run is given too and "
                "keeps the findings SARIF leaves out"
            )
            continue
        kept.append(audit)
    return kept, notes


def check_release(
    manifest: Manifest,
    audits: Sequence[Audit],
    policy: AuditPolicy,
    sha1_of: Mapping[str, str] | None = None,
) -> Coverage:
    """Coverage of the release's required files; *sha1_of* holds the SHA-1 of
    release files that only a SHA-1 scope entry names (the CLI hashes them)."""
    scope: dict[str, list[tuple[ScopeEntry, str]]] = {}
    for audit in audits:
        for entry in audit.scope:
            scope.setdefault(entry.path, []).append((entry, audit.auditor))
    required = [f for f in manifest.files if matches(f.path, policy.required)]
    covered, uncovered, drifted, weak = [], [], [], []
    for item in required:
        listed = scope.get(item.path)
        if not listed:
            uncovered.append(item.path)
            continue
        strong = [(s, who) for s, who in listed if not s.weak]
        if any(s.digest == item.sha256 for s, _ in strong):
            covered.append(item.path)
            continue
        if strong:
            drifted.append(
                Drift(
                    item.path,
                    strong[-1][0].digest,
                    item.sha256,
                    tuple(sorted({who for _, who in strong})),
                )
            )
            continue
        sha1 = (sha1_of or {}).get(item.path)
        s1, who = listed[-1]
        matched = None if sha1 is None else any(s.digest == sha1 for s, _ in listed)
        weak.append(Weak(item.path, s1.digest, matched, tuple(sorted({w for _, w in listed}))))
        if matched is False:
            drifted.append(Drift(item.path, f"sha1:{s1.digest}", item.sha256, (who,)))
        elif matched and policy.accept_sha1:
            covered.append(item.path)
        else:
            uncovered.append(item.path)
    return Coverage(
        required=len(required),
        covered=tuple(covered),
        uncovered=tuple(uncovered),
        drifted=tuple(drifted),
        weak=tuple(weak),
    )


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """The policy's judgement of the audits (and of the release, with a manifest)."""

    passed: bool
    audits: tuple[Audit, ...]
    findings: tuple[Finding, ...]
    open_findings: tuple[Finding, ...]
    coverage: Coverage | None
    policy_digest: str
    notes: tuple[str, ...] = field(default=())
    failed_on: tuple[str, ...] = field(default=())

    def reason(self) -> str:
        if self.passed:
            checked = "coverage, drift and findings" if self.coverage else "findings"
            return f"audit policy passed ({checked} checked)"
        parts = []
        cov = self.coverage
        if "uncovered" in self.failed_on and cov:
            parts.append(f"{len(cov.uncovered)} required file(s) not covered by any audit")
        if "drifted" in self.failed_on and cov:
            parts.append(f"{len(cov.drifted)} file(s) changed since the audit")
        if "weak" in self.failed_on and cov:
            parts.append(f"{len(cov.weak)} file(s) covered only by SHA-1")
        if "open" in self.failed_on:
            parts.append(f"{len(self.open_findings)} open finding(s) at level FAIL")
        return "audit policy failed: " + ", ".join(parts)


def judge(
    audits: Sequence[Audit],
    policy: AuditPolicy,
    coverage: Coverage | None = None,
    notes: Sequence[str] = (),
) -> AuditVerdict:
    """Level every finding, list the open ones at FAIL, and decide."""
    levelled: list[Finding] = []
    for audit in audits:
        for f in audit.findings:
            level = policy.level_for(f)
            if level is Level.IGNORE:
                continue
            levelled.append(replace(f, properties={**f.properties, "level": level.value}))
    levelled.sort(key=Finding.sort_key)
    open_findings = tuple(
        f for f in levelled if f.properties["level"] == Level.FAIL.value and policy.is_open(f)
    )
    failed: list[str] = []
    if coverage is not None:
        if coverage.uncovered and "uncovered" in policy.fail_on:
            failed.append("uncovered")
        if coverage.drifted and "drifted" in policy.fail_on:
            failed.append("drifted")
        if coverage.weak and "weak" in policy.fail_on:
            failed.append("weak")
    if open_findings and "open" in policy.fail_on:
        failed.append("open")
    return AuditVerdict(
        passed=not failed,
        audits=tuple(audits),
        findings=tuple(levelled),
        open_findings=open_findings,
        coverage=coverage,
        policy_digest=policy.digest,
        notes=tuple(notes),
        failed_on=tuple(failed),
    )
