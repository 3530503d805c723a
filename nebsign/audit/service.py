"""The I/O around the pure audit core: read files, call the core, hand back verdicts.

One function per command (:func:`import_audits`, :func:`check_audits`,
:func:`scan_audit`) used by the CLI, the demo and the benchmark.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from nebsign._internal.readlimit import read_bounded
from nebsign._internal.resources import data_path
from nebsign.audit.check import AuditVerdict, check_release, judge, merge
from nebsign.audit.interface import load_audit
from nebsign.audit.model import Audit
from nebsign.audit.policy import AuditPolicy
from nebsign.errors import InputError
from nebsign.policy import MAX_POLICY_BYTES

__all__ = ["CheckResult", "check_audits", "import_audits", "load_policy", "scan_audit"]


def load_policy(path: Path | None) -> AuditPolicy:
    """The ``[audit]`` table of the policy at *path*, or of the bundled default policy."""
    target = path if path is not None else data_path("policies") / "default.toml"
    return AuditPolicy.from_toml(read_bounded(target, MAX_POLICY_BYTES, "policy"), str(target))


def _load(paths: Sequence[Path], fmt: str | None) -> tuple[list[Audit], list[str]]:
    return merge([load_audit(p, fmt) for p in paths])


def import_audits(
    paths: Sequence[Path], policy: AuditPolicy, fmt: str | None = None
) -> AuditVerdict:
    """Import and judge the findings (no coverage check)."""
    audits, notes = _load(paths, fmt)
    return judge(audits, policy, None, notes)


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: AuditVerdict
    manifest_name: str
    manifest_digest: str


def _sha1_of(root: Path, paths: Sequence[str]) -> dict[str, str]:
    out = {}
    for rel in paths:
        # SHA-1 only to compare with an auditor's SHA-1 scope; reported as weak evidence
        digest = hashlib.sha1(usedforsecurity=False)
        try:
            with open(root / rel, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise InputError(f"cannot read release file {rel}: {exc.strerror or exc}") from exc
        out[rel] = digest.hexdigest()
    return out


def check_audits(
    manifest_path: Path,
    paths: Sequence[Path],
    policy: AuditPolicy,
    *,
    root: Path | None = None,
    fmt: str | None = None,
) -> CheckResult:
    """Coverage, drift and open findings of a release manifest against the audits."""
    from nebsign.manifest import MAX_MANIFEST_BYTES, Manifest

    raw = read_bounded(manifest_path, MAX_MANIFEST_BYTES, "manifest")
    manifest = Manifest.from_json(raw, str(manifest_path))
    audits, notes = _load(paths, fmt)
    sha1_of = None
    if root is not None:
        strong = {e.path for a in audits for e in a.scope if not e.weak}
        weak_only = {e.path for a in audits for e in a.scope if e.weak} - strong
        in_release = [f.path for f in manifest.files if f.path in weak_only]
        sha1_of = _sha1_of(root, in_release)
    coverage = check_release(manifest, audits, policy, sha1_of)
    verdict = judge(audits, policy, coverage, notes)
    return CheckResult(verdict, manifest_path.name, manifest.digest())


def scan_audit(
    target: Path,
    policy: AuditPolicy,
    *,
    root: Path,
    baseline_path: Path | None = None,
    today: date | None = None,
) -> AuditVerdict:
    """Slither on *target* (see :mod:`nebsign.audit.scan`), judged like any audit."""
    from nebsign.audit.scan import scan_contracts

    audit = scan_contracts(target, root=root, timeout=policy.scan_timeout)
    notes: list[str] = []
    if baseline_path is not None:
        from nebsign.baseline import MAX_BASELINE_BYTES, Baseline

        baseline = Baseline.from_toml(
            read_bounded(baseline_path, MAX_BASELINE_BYTES, "baseline"), str(baseline_path)
        )
        matched, fixed = baseline.match(audit.findings, today or date.today())
        audit = replace(audit, findings=tuple(matched))
        notes.extend(
            f"baseline entry no longer found (fixed): {e.path or '-'} {e.rule or '-'}"
            for e in fixed
        )
    return judge([audit], policy, None, notes)
