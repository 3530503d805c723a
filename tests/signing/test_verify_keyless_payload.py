"""UNIT TEST of verify.py's checks AFTER keyless verification, on the payload it returns.

This does NOT prove keyless verification. The installed sigstore (4.5) refuses the
log entry kind of every real keyless DSSE bundle available offline (see
test_keyless_dsse.py, which runs the real bundle up to where sigstore stops), so
nebsign's own logic after ``verify_keyless`` returns (statement parsing, the purpose
check with the predicate type, the subject match, the logged flag, the required
predicate types) never ran. Here the call into the *dependency*, sigstore-python's
``Verifier.verify_dsse``, is replaced by a seam that still runs nebsign's identity
policy on the bundle's real certificate (as sigstore does) and then hands back a
payload, as sigstore does once the chain, log entry and signature verified. Nothing
of nebsign is replaced. docs/mutants.md says the same.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from signing.test_keyless_dsse import BUNDLE, IDENT, ISSUER, SUBJECT, _bundle
from sigstore.verify import Verifier

from nebsign.attest import InvalidStatement
from nebsign.errors import InputError
from nebsign.keyless import IdentityMismatch, KeylessVerificationFailed
from nebsign.keys import generate_key
from nebsign.policy.trust import (
    Purposes,
    Signer,
    SignerGroup,
    TrustedIdentity,
    TrustPolicy,
    bundled_trusted_root,
)
from nebsign.verify import (
    DigestMismatch,
    MissingAttestation,
    UntrustedKey,
    verify_artifact,
    verify_attestation,
    verify_attestations,
)

SIGNER = Signer(identity=IDENT, issuer=ISSUER)
SLSA = "https://slsa.dev/provenance/v1"
SAST = "https://nebsign.dev/sast/v1"
IN_TOTO = "application/vnd.in-toto+json"


def _real_payload() -> bytes:
    from base64 import b64decode

    doc = json.loads(BUNDLE.read_bytes())
    return b64decode(doc["dsseEnvelope"]["payload"])


def _statement(ptype: str = SAST, subjects: tuple[str, ...] = (SUBJECT,)) -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": f"f{i}", "digest": {"sha256": s}} for i, s in enumerate(subjects)],
            "predicateType": ptype,
            "predicate": {},
        }
    ).encode()


@pytest.fixture
def sigstore_hands_back(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The dependency's DSSE verifier replaced: identity policy on the real certificate,
    then the payload set in the returned list (the bundle's own payload by default)."""
    payloads = [_real_payload()]

    def verify_dsse(self: Any, bundle: Any, policy: Any) -> tuple[str, bytes]:
        policy.verify(bundle.signing_certificate)  # raises for a wrong identity
        return IN_TOTO, payloads[0]

    monkeypatch.setattr(Verifier, "verify_dsse", verify_dsse)
    return payloads


def _policy(*purposes: Purposes, tlog: bool = False, required: tuple[str, ...] = ()) -> TrustPolicy:
    idents = tuple(TrustedIdentity(ISSUER, IDENT, purposes=p) for p in purposes or (Purposes(),))
    group = SignerGroup("g", (), idents, 1, require_tlog=tlog)
    return TrustPolicy(
        rule=group,
        groups=(group,),
        required_predicates=required,
        trusted_root=bundled_trusted_root("staging"),
    )


def test_the_payload_handed_back_is_the_verified_statement(
    sigstore_hands_back: list[bytes],
) -> None:
    statement = verify_attestation(_bundle(), _policy())
    assert statement.predicate_type == SLSA
    assert [s.sha256 for s in statement.subjects] == [SUBJECT]
    assert statement.covers(SUBJECT)


def test_required_predicate_types_are_met_by_the_keyless_statement(
    sigstore_hands_back: list[bytes],
) -> None:
    policy = _policy(required=(SLSA,))
    (statement,) = verify_attestations(f"sha256:{SUBJECT}", [_bundle()], policy)
    assert statement.predicate_type == SLSA
    with pytest.raises(MissingAttestation) as info:
        verify_attestations(f"sha256:{SUBJECT}", [_bundle()], _policy(required=(SLSA, SAST)))
    assert info.value.message == f"missing attestation for sha256:{SUBJECT}: no verified {SAST}"


def test_a_keyless_attestation_counts_as_logged_evidence(sigstore_hands_back: list[bytes]) -> None:
    """``_attested`` says a keyless bundle's log entry verified (sigstore requires one)."""
    verified = verify_artifact(SUBJECT, [_bundle()], _policy(tlog=True), attestations=True)
    assert verified.signers == (str(SIGNER),)
    assert [s.predicate_type for s in verified.statements] == [SLSA]


def test_a_statement_not_naming_the_artifact_is_refused(sigstore_hands_back: list[bytes]) -> None:
    other = "0" * 64
    sigstore_hands_back[0] = _statement(SLSA, (other, "1" * 64, "2" * 64, "3" * 64))
    with pytest.raises(DigestMismatch) as info:
        verify_artifact(SUBJECT, [_bundle()], _policy(), attestations=True)
    assert info.value.exit_code == 1
    assert info.value.message == (
        f"tampered artifact: its sha256:{SUBJECT} is not a subject of the {SLSA} "
        f"attestation (sha256:{other}, sha256:{'1' * 64}, sha256:{'2' * 64})"
    )


def test_a_payload_that_is_no_statement_is_named(sigstore_hands_back: list[bytes]) -> None:
    sigstore_hands_back[0] = b'{"_type": "https://in-toto.io/Statement/v1"}'
    with pytest.raises(InvalidStatement) as info:
        verify_attestation(_bundle(), _policy())
    assert info.value.message.startswith("attestation statement: ")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("purposes", "ok"),
    [
        (Purposes(attestations=False), False),
        (Purposes(artifacts=False, predicate_types=frozenset({SAST})), False),
        (Purposes(artifacts=False, predicate_types=frozenset({SLSA})), True),
        (Purposes(artifacts=False), True),
    ],
)
def test_the_identity_must_be_trusted_for_the_statements_predicate_type(
    sigstore_hands_back: list[bytes], purposes: Purposes, ok: bool
) -> None:
    policy = _policy(purposes)
    if ok:
        assert verify_attestation(_bundle(), policy).predicate_type == SLSA
        return
    with pytest.raises(UntrustedKey) as info:
        verify_attestation(_bundle(), policy)
    assert info.value.message == (
        f"wrong purpose: {SIGNER} is trusted for {purposes} only, not attestations of {SLSA}"
    )


def test_the_predicate_type_checked_is_the_statements(sigstore_hands_back: list[bytes]) -> None:
    sigstore_hands_back[0] = _statement(SAST)
    only_slsa = Purposes(artifacts=False, predicate_types=frozenset({SLSA}))
    with pytest.raises(UntrustedKey) as info:
        verify_attestation(_bundle(), _policy(only_slsa))
    assert info.value.message.endswith(f"not attestations of {SAST}")
    assert verify_attestation(_bundle(), _policy(Purposes(artifacts=False))).predicate_type == SAST


def test_the_policy_is_checked_before_the_dependency_runs(
    sigstore_hands_back: list[bytes],
) -> None:
    key_only = TrustPolicy.from_keys([generate_key().public_key()])
    with pytest.raises(IdentityMismatch) as info:
        verify_attestation(_bundle(), key_only)
    assert info.value.message == (
        "bundle is signed keyless (Sigstore certificate) but the policy trusts only keys"
    )
    group = SignerGroup("g", (), (TrustedIdentity(ISSUER, IDENT),), 1)
    rootless = TrustPolicy(rule=group, groups=(group,))
    with pytest.raises(InputError) as err:
        verify_attestation(_bundle(), rootless)
    assert err.value.message == "bundle is keyless but the policy pins no Sigstore trusted root"


def test_a_wrong_identity_still_stops_before_the_payload(sigstore_hands_back: list[bytes]) -> None:
    group = SignerGroup("g", (), (TrustedIdentity(ISSUER, "someone@example.com"),), 1)
    policy = TrustPolicy(rule=group, groups=(group,), trusted_root=bundled_trusted_root("staging"))
    with pytest.raises(IdentityMismatch):
        verify_attestation(_bundle(), policy)


def test_a_payload_type_other_than_in_toto_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def verify_dsse(self: Any, bundle: Any, policy: Any) -> tuple[str, bytes]:
        policy.verify(bundle.signing_certificate)
        return "text/plain", b"hello"

    monkeypatch.setattr(Verifier, "verify_dsse", verify_dsse)
    with pytest.raises(KeylessVerificationFailed) as info:
        verify_attestation(_bundle(), _policy())
    assert info.value.message == "DSSE payload type 'text/plain' is not in-toto"
