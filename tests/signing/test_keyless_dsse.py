"""A real keyless DSSE attestation (Sigstore staging) through nebsign's attestation path.

The bundle (tests/assets/sigstore/README.md) is sigstore-python's own test asset,
signed by the public staging instance. The installed sigstore library (4.5) verifies
DSSE bundles only with a Rekor v1 ``dsse/0.0.1`` or v2 ``hashedrekord/0.0.2`` entry;
this bundle carries a ``dsse/0.0.2`` entry, so its verification ends in a refusal
*after* the certificate chain, the identity and the DSSE signature were checked.
What these tests hold: each step before that refusal, in the order nebsign runs
them (docs/mutants.md says what stays out of reach).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from nebsign.bundle import Bundle, InvalidBundle
from nebsign.errors import InputError
from nebsign.keyless import IdentityMismatch, KeylessVerificationFailed
from nebsign.keys import generate_key
from nebsign.policy.trust import TrustedIdentity, TrustPolicy, bundled_trusted_root
from nebsign.verify import verify_artifact, verify_attestation, verify_attestations

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "sigstore"
BUNDLE = ASSETS / "a.dsse.staging-rekor-v2.txt.sigstore.json"
IDENT = "insecure-cloudtop-shared-user@cloudtop-prod-us-east.iam.gserviceaccount.com"
ISSUER = "https://accounts.google.com"
SUBJECT = "e248a5db4933dba6578200238c91a57f5e65b925b73050ae786933468b7ac101"
UNSUPPORTED = "Sigstore verification failed: Unsupported DSSE log entry type: dsse/0.0.2"


def _bundle() -> Bundle:
    return Bundle.from_json(BUNDLE.read_bytes())


def _policy(identity: str = IDENT, instance: str = "staging") -> TrustPolicy:
    return TrustPolicy.from_identities(
        [TrustedIdentity(ISSUER, identity)], bundled_trusted_root(instance)
    )


def test_the_asset_is_the_published_bundle() -> None:
    # the README's digest: the file is sigstore-python's, byte for byte
    digest = hashlib.sha256(BUNDLE.read_bytes()).hexdigest()
    assert digest == "df4e8b9462c4a8c09dcdd8f042b07e00a3f3951817e954b177a8482ddc165d79"
    assert _bundle().certificate is not None


def test_right_identity_and_root_reach_the_log_entry_check() -> None:
    with pytest.raises(KeylessVerificationFailed) as info:
        verify_attestation(_bundle(), _policy())
    assert info.value.message == UNSUPPORTED
    assert info.value.exit_code == 1


def test_wrong_identity_is_refused_before_the_log_entry() -> None:
    with pytest.raises(IdentityMismatch) as info:
        verify_attestation(_bundle(), _policy("someone@example.com"))
    assert "wrong identity" in info.value.message and info.value.exit_code == 1


def test_the_production_root_does_not_vouch_for_a_staging_certificate() -> None:
    with pytest.raises(KeylessVerificationFailed) as info:
        verify_attestation(_bundle(), _policy(instance="production"))
    assert info.value.message != UNSUPPORTED
    assert info.value.message.startswith("Sigstore verification failed: ")


def _key_only() -> TrustPolicy:
    return TrustPolicy.from_keys([generate_key().public_key()])


def test_a_keyless_attestation_needs_identities_and_a_root() -> None:
    with pytest.raises(IdentityMismatch) as info:
        verify_attestation(_bundle(), _key_only())
    assert info.value.message == (
        "bundle is signed keyless (Sigstore certificate) but the policy trusts only keys"
    )
    no_root = dataclasses.replace(_policy(), trusted_root=None)
    with pytest.raises(InputError) as err:
        verify_attestation(_bundle(), no_root)
    assert err.value.message == "bundle is keyless but the policy pins no Sigstore trusted root"


def test_as_artifact_evidence_and_in_a_required_set_the_same_refusal() -> None:
    with pytest.raises(InvalidBundle, match="holds an attestation"):
        verify_artifact(SUBJECT, [_bundle()], _policy())  # not without attestations=True
    with pytest.raises(KeylessVerificationFailed) as info:
        verify_artifact(SUBJECT, [_bundle()], _policy(), attestations=True)
    assert info.value.message == UNSUPPORTED
    with pytest.raises(KeylessVerificationFailed) as info:
        verify_attestations(SUBJECT, [_bundle()], _policy())
    assert info.value.message == UNSUPPORTED


def test_a_keyless_message_signature_is_not_an_attestation() -> None:
    from helpers import SHARED

    raw = (SHARED / "testdata" / "sigstore" / "bundle_v3_github.whl.sigstore").read_bytes()
    with pytest.raises(InvalidBundle) as info:
        verify_attestation(Bundle.from_json(raw), _policy())
    assert info.value.message == "bundle holds an artifact signature, not an attestation (DSSE)"
