"""Issue 9.14: a DSSE bundle verifies an artifact its statement names (as
``cosign verify-blob-attestation`` does), and ``attest verify`` takes the trust
flags of ``verify``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli
from signing.sigassets import ARTIFACT_SHA, GOLDEN, KEY_IDS, golden_bundle

from nebsign.attest import SAST_V1
from nebsign.bundle import InvalidBundle
from nebsign.keys import load_public_key
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import DigestMismatch, verify_artifact

PUB = str(GOLDEN / "keys/ed25519-a.pub")
SAST = str(GOLDEN / "sast.sigstore.json")


def _policy() -> TrustPolicy:
    return TrustPolicy.from_keys([load_public_key((GOLDEN / "keys/ed25519-a.pub").read_bytes())])


def test_library_counts_an_attestation_only_when_asked() -> None:
    bundle = golden_bundle("sast.sigstore.json")
    with pytest.raises(InvalidBundle):  # release manifests: only signatures of the bytes count
        verify_artifact(ARTIFACT_SHA, [bundle], _policy())
    verified = verify_artifact(ARTIFACT_SHA, [bundle], _policy(), attestations=True)
    assert verified.signers == (KEY_IDS["ed25519-a"],)
    assert [s.predicate_type for s in verified.statements] == [SAST_V1]
    with pytest.raises(DigestMismatch, match="not a subject"):
        verify_artifact("0" * 64, [bundle], _policy(), attestations=True)


def test_cli_verifies_an_artifact_with_a_dsse_bundle(tmp_path: Path) -> None:
    result = run_cli("verify", str(GOLDEN / "artifact.bin"), "--bundle", SAST, "--key", PUB)
    assert result.exit_code == 0, result.stderr
    assert "attestation https://nebsign.dev/attestation/sast/v1" in result.stdout
    other = tmp_path / "other.bin"
    other.write_bytes(b"not the subject")
    refused = run_cli("verify", str(other), "--bundle", SAST, "--key", PUB)
    assert_one_line_error(refused, 1)
    assert "not a subject" in refused.stderr
    # an attestation never stands in for a release manifest's signature
    shutil.copytree(GOLDEN / "release", tmp_path / "release")
    shutil.copy(GOLDEN / "release.json", tmp_path / "release.json")
    manifest = run_cli("verify", str(tmp_path / "release.json"), "--manifest", "--bundle", SAST,
                       "--key", PUB, "--root", str(tmp_path / "release"))  # fmt: skip
    assert manifest.exit_code == 2, manifest.stderr


def test_purpose_applies_to_dsse_artifact_checks(tmp_path: Path) -> None:
    pem = (GOLDEN / "keys/ed25519-a.pub").read_text()
    policy = tmp_path / "p.toml"
    policy.write_text(
        f'version = 1\n[[keys]]\nid = "{KEY_IDS["ed25519-a"]}"\npem = """\n{pem}"""\n'
        'purposes = ["slsa-provenance"]\n'
    )
    result = run_cli("verify", str(GOLDEN / "artifact.bin"), "--bundle", SAST, "--policy",
                     str(policy))  # fmt: skip
    assert_one_line_error(result, 1)
    assert "wrong purpose" in result.stderr


def test_attest_verify_takes_the_trust_flags_of_verify() -> None:
    ok = run_cli("attest", "verify", SAST, "--key", PUB, "--subject", str(GOLDEN / "artifact.bin"))
    assert ok.exit_code == 0, ok.stderr
    keyless_only = run_cli("attest", "verify", SAST, "--identity", "someone@example.com",
                           "--issuer", "https://accounts.example.com")  # fmt: skip
    assert_one_line_error(keyless_only, 1)
    for args in (
        ["--identity", "x@example.com"],  # no issuer
        ["--key", PUB, "--policy", str(GOLDEN / "policy-attest.toml")],
        [],
    ):
        assert_one_line_error(run_cli("attest", "verify", SAST, *args), 2)
    staging = run_cli("attest", "verify", SAST, "--key", PUB, "--staging")
    assert staging.exit_code == 0, staging.stderr
    policy = run_cli("attest", "verify", SAST, "--policy", str(GOLDEN / "policy-attest.toml"))
    assert policy.exit_code == 0, policy.stderr
