"""Who signed: key id, and the transparency-log entry when the bundle carries one."""

from __future__ import annotations

from signing.sigassets import ARTIFACT_SHA, artifact_bundle, golden_policy

from nebsign.report.evidence import signed_by
from nebsign.verify import verify_artifact


def test_signer_with_transparency_log_entry() -> None:
    policy = golden_policy("policy-tlog.toml")
    bundle = artifact_bundle("tlog")
    verify_artifact(ARTIFACT_SHA, [bundle], policy)  # what load_release does first
    who = signed_by(bundle, policy, bytes.fromhex(ARTIFACT_SHA), True)
    assert who.kind == "key"
    assert who.signer == "fd110d301d2f077de1414b8f99f441b1403fab207b2052fbd2c065e4ee8e7dc2"
    assert who.log_index == 1 and who.integrated_time == "2026-01-01T00:00:00Z"


def test_signer_without_log_entry() -> None:
    policy = golden_policy("policy-2-of-3.toml")
    who = signed_by(artifact_bundle("ed25519-b"), policy, bytes.fromhex(ARTIFACT_SHA), True)
    assert who.kind == "key" and who.log_index is None and who.integrated_time is None


def test_log_entry_and_sigstore_identity_are_shown(release, key) -> None:  # type: ignore[no-untyped-def]
    from nebsign.policy.trust import TrustPolicy
    from nebsign.report.evidence import load_release
    from nebsign.report.model import build_report
    from nebsign.report.render import render_all

    doc = build_report(load_release(release, TrustPolicy.from_keys([key.public_key()])))
    doc["signatures"].append(
        {
            "file": "signatures/ci.sigstore.json",
            "bundle_sha256": "00" * 32,
            "signer": "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1 "
            "(https://token.actions.githubusercontent.com)",
            "signer_kind": "sigstore",
            "log_index": 123456,
            "integrated_time": "2026-11-01T10:00:00Z",
        }
    )
    files = render_all(doc)
    html = files["index.html"].decode()
    assert "Sigstore https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1" in html
    assert "transparency log entry 123456 (2026-11-01T10:00:00Z)" in html
    assert "| sigstore https" in files["report.md"].decode()
