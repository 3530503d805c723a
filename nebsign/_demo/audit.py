"""Demo step: a third-party audit of the example contracts, signed; drift caught.

Imports the bundled sample audit (fixed and acknowledged findings) and the
bundled Slither run (an auditor's local paths dropped), checks the release
ships the audited bytes, signs the result as an AUDIT_V1 attestation, runs
Slither offline when Node, solc-js and Slither are installed, then edits the
audited contract and shows ``audit check`` catching the drift.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from nebsign._internal.atomic import atomic_write
from nebsign.audit.report import statement
from nebsign.audit.service import check_audits, import_audits, load_policy, scan_audit
from nebsign.errors import EnvironmentFault
from nebsign.findings import Status
from nebsign.keys import KeyKind, generate_key
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import sign_statement
from nebsign.tree import build_manifest
from nebsign.verify import verify_attestation

from . import DemoContext

TITLE = "Third-party audit: findings imported, audited bytes proven, drift caught"


def run(ctx: DemoContext) -> Iterator[str]:
    audits = ctx.examples / "audits"
    audit_file = audits / "vault-audit.toml"
    release = ctx.workdir / "audit-release"
    shutil.copytree(ctx.examples / "release", release, symlinks=True)
    manifest_path = ctx.workdir / "audit-release.json"
    atomic_write(manifest_path, build_manifest(release, name="exchange-api").to_json())
    policy = load_policy(None)

    result = check_audits(manifest_path, [audit_file], policy)
    verdict = result.verdict
    audit = verdict.audits[0]
    yield f"{audit.auditor}: {audit.report_title} ({audit.audit_date})"
    for f in verdict.findings:
        yield (
            f"  [{f.rule_id}] {f.properties['original_severity']} -> {f.severity.value}, "
            f"{f.properties['original_status']} -> {f.status.value}: {f.title}"
        )
    fixed = sum(1 for f in verdict.findings if f.status is Status.FIXED)
    yield f"  fixed: {fixed} of {len(verdict.findings)} (acknowledged and won't-fix never count)"
    cov = verdict.coverage
    assert cov is not None
    yield (
        f"audit check: {len(cov.covered)} of {cov.required} contract file(s) ship the audited "
        f"SHA-256 -> {'PASS' if verdict.passed else 'FAIL'}"
    )

    key = ctx.values.get("signing_key") or generate_key(KeyKind.ED25519)
    bundle = sign_statement(statement(verdict), key)
    atomic_write(ctx.workdir / "audit.sigstore.json", bundle.to_json())
    stmt = verify_attestation(bundle, TrustPolicy.from_keys([key.public_key()]))
    names = ", ".join(s.name for s in stmt.subjects)
    yield f"signed AUDIT_V1 attestation about {names}; verified: {stmt.predicate['verdict']}"

    slither = import_audits([audits / "slither-vault.json"], policy)
    leaked = "/home/auditor" in str([f.to_dict() for f in slither.findings])
    yield (
        f"auditor's Slither JSON: {len(slither.findings)} finding(s), nebsign fingerprints, "
        f"local paths in output: {'yes' if leaked else 'none'}"
    )
    try:
        scanned = scan_audit(release / "contracts", policy, root=release)
    except EnvironmentFault as exc:
        yield f"audit scan skipped: {exc.diagnostics()}"
    else:
        tools = ", ".join(f"{k} {v}" for k, v in sorted(scanned.audits[0].tools.items()))
        yield f"audit scan (offline, {tools}):"
        for f in scanned.findings:
            yield f"  {f.properties['level']:<4} {f.rule_id} {f.location} {f.fingerprint[:12]}"

    vault = release / "contracts" / "Vault.sol"
    text = vault.read_text()
    vault.write_text(text.replace("require(ok, ", "require(ok || amount == 0, "))
    (release / "contracts" / "Bridge.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract Bridge {}\n"
    )
    atomic_write(manifest_path, build_manifest(release, name="exchange-api").to_json())
    result = check_audits(manifest_path, [audit_file], policy)
    cov = result.verdict.coverage
    assert cov is not None
    yield "after editing the audited Vault.sol and adding Bridge.sol:"
    for d in cov.drifted:
        yield f"  DRIFTED   {d.path} (audited {d.audited[:12]}..., released {d.released[:12]}...)"
    for path in cov.uncovered:
        yield f"  UNCOVERED {path}"
    if result.verdict.passed:  # pragma: no cover - the edit is the point of the demo
        raise AssertionError("audit check passed a drifted contract")
    yield f"  refused (exit 1): {result.verdict.reason()}"
