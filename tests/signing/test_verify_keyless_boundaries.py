"""Keyless decisions of verify.py at their boundaries, in-process (docs/mutants.md).

The keyless *attestation* path cannot run to its end offline (see
test_keyless_dsse.py), so the purpose check it ends with is tested here as the
function it is; the log-entry requirement is tested with a real keyless artifact
bundle (Sigstore production, tests' shared data).
"""

from __future__ import annotations

import hashlib

import pytest

from nebsign.bundle import Bundle
from nebsign.policy.trust import (
    Purposes,
    Signer,
    SignerGroup,
    TrustedIdentity,
    TrustPolicy,
    bundled_trusted_root,
)
from nebsign.verify import UntrustedKey, _check_purpose, verify_artifact

GH = "https://token.actions.githubusercontent.com"
IDENT = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
SLSA = "https://slsa.dev/provenance/v1"
SAST = "https://nebsign.dev/sast/v1"
SIGNER = Signer(identity=IDENT, issuer=GH)


def _policy(*purposes: Purposes) -> TrustPolicy:
    root = bundled_trusted_root("production")
    return TrustPolicy.from_identities(
        [TrustedIdentity(GH, IDENT, purposes=p) for p in purposes], root
    )


def test_an_identity_for_artifacts_only_may_not_sign_attestations() -> None:
    policy = _policy(Purposes(attestations=False))
    _check_purpose(policy, SIGNER, "artifacts", None)
    with pytest.raises(UntrustedKey) as info:
        _check_purpose(policy, SIGNER, "attestations", SLSA)
    assert info.value.message == (
        f"wrong purpose: {SIGNER} is trusted for artifacts only, not attestations of {SLSA}"
    )


def test_an_identity_for_one_predicate_type_only() -> None:
    only_slsa = Purposes(artifacts=False, predicate_types=frozenset({SLSA}))
    policy = _policy(only_slsa)
    _check_purpose(policy, SIGNER, "attestations", SLSA)
    with pytest.raises(UntrustedKey) as info:
        _check_purpose(policy, SIGNER, "attestations", SAST)
    assert info.value.message == (
        f"wrong purpose: {SIGNER} is trusted for {only_slsa} only, not attestations of {SAST}"
    )
    with pytest.raises(UntrustedKey) as info:
        _check_purpose(policy, SIGNER, "artifacts", None)
    assert info.value.message == (
        f"wrong purpose: {SIGNER} is trusted for {only_slsa} only, not artifacts"
    )


def test_one_matching_identity_that_allows_is_enough() -> None:
    policy = _policy(Purposes(attestations=False), Purposes(artifacts=False))
    _check_purpose(policy, SIGNER, "attestations", SAST)
    _check_purpose(policy, SIGNER, "artifacts", None)
    # a signer no identity matches is not judged here (the identity check refused it before)
    _check_purpose(policy, Signer(identity="other@example.com", issuer=GH), "attestations", SAST)


def test_a_keyless_artifact_signature_counts_as_logged() -> None:
    from helpers import SHARED

    data = SHARED / "testdata" / "sigstore"
    bundle = Bundle.from_json((data / "bundle_v3_github.whl.sigstore").read_bytes())
    digest = hashlib.sha256((data / "bundle_v3_github.whl").read_bytes()).hexdigest()
    group = SignerGroup("g", (), (TrustedIdentity(GH, IDENT),), 1, require_tlog=True)
    policy = TrustPolicy(
        rule=group, groups=(group,), trusted_root=bundled_trusted_root("production")
    )
    assert verify_artifact(digest, [bundle], policy).signers == (str(SIGNER),)
