"""The key-based attestation (DSSE) path of verify.py at its boundaries (docs/mutants.md).

Real keys and real signatures; each refusal asserted with its whole message.
"""

from __future__ import annotations

import dataclasses

import pytest

from nebsign.attest import IN_TOTO_PAYLOAD_TYPE, InvalidStatement, Statement, Subject
from nebsign.bundle import Bundle, DsseEnvelope, pae
from nebsign.errors import VerdictError
from nebsign.keys import PrivateKey, generate_key, key_id
from nebsign.policy.trust import ANY_PURPOSE, Purposes, SignerGroup, TrustedKey, TrustPolicy
from nebsign.signing import sign_message, sign_statement
from nebsign.verify import (
    SignatureMismatch,
    TlogMissing,
    UntrustedKey,
    verify_artifact,
    verify_attestation,
    verify_attestations,
)

SAST = "https://nebsign.dev/attestation/sast/v1"
SLSA = "https://slsa.dev/provenance/v1"
SHA = "ab" * 32
KEY = generate_key()
KID = key_id(KEY.public_key())


def _policy(purposes: Purposes = ANY_PURPOSE, *, require_tlog: bool = False) -> TrustPolicy:
    key = TrustedKey(KID, KEY.public_key(), None, purposes)
    group = SignerGroup("g", (key,), (), 1, require_tlog)
    return TrustPolicy(rule=group, groups=(group,))


def _statement(ptype: str = SAST) -> Statement:
    return Statement((Subject("a", SHA),), ptype, {"verdict": "pass"})


def _dsse(payload: bytes, payload_type: str, key: PrivateKey = KEY) -> Bundle:
    sig = sign_message(key, pae(payload_type, payload))
    kid = key_id(key.public_key())
    return Bundle(DsseEnvelope(payload, payload_type, sig, kid), public_key_hint=kid)


def test_a_verified_attestation_gives_back_its_statement() -> None:
    stmt = _statement()
    assert verify_attestation(sign_statement(stmt, KEY), _policy()) == stmt
    assert verify_attestations(SHA, [sign_statement(stmt, KEY)], _policy()) == (stmt,)
    got = verify_artifact(SHA, [sign_statement(stmt, KEY)], _policy(), attestations=True)
    assert got.signers == (KID,) and got.statements == (stmt,)


def test_a_payload_type_other_than_in_toto_is_refused_and_cut_at_80() -> None:
    kind = "application/x-" + "y" * 100
    bundle = _dsse(_statement().to_json(), kind)
    with pytest.raises(SignatureMismatch) as info:
        verify_attestation(bundle, _policy())
    assert info.value.message == f"DSSE payload type {kind[:80]!r} is not in-toto"


def test_a_key_for_other_predicate_types_is_refused_by_name() -> None:
    only_slsa = Purposes(artifacts=False, predicate_types=frozenset({SLSA}))
    assert verify_attestation(sign_statement(_statement(SLSA), KEY), _policy(only_slsa))
    with pytest.raises(UntrustedKey) as info:
        verify_attestation(sign_statement(_statement(SAST), KEY), _policy(only_slsa))
    assert info.value.message == (
        f"wrong purpose: key {KID} is trusted for {only_slsa} only, not attestations of {SAST}"
    )


def test_a_required_log_entry_is_missing() -> None:
    with pytest.raises(TlogMissing) as info:
        verify_attestation(sign_statement(_statement(), KEY), _policy(require_tlog=True))
    assert info.value.message == (
        "the policy requires a transparency log entry; the attestation has none"
    )


def test_a_signed_payload_that_is_no_statement_is_named() -> None:
    bundle = _dsse(b'{"_type":"nope"}', IN_TOTO_PAYLOAD_TYPE)
    with pytest.raises(InvalidStatement) as info:
        verify_attestation(bundle, _policy())
    assert info.value.message.startswith("attestation statement: "), info.value.message
    assert info.value.exit_code == 2


def test_a_signature_by_another_key_is_not_accepted() -> None:
    other = generate_key()
    bundle = _dsse(_statement().to_json(), IN_TOTO_PAYLOAD_TYPE, other)
    with pytest.raises(VerdictError) as info:
        verify_attestation(bundle, _policy())
    assert info.value.exit_code == 1


def test_a_key_for_artifacts_only_may_not_sign_attestations() -> None:
    artifacts_only = Purposes(attestations=False)
    with pytest.raises(UntrustedKey) as info:
        verify_attestation(sign_statement(_statement(), KEY), _policy(artifacts_only))
    assert info.value.message == (
        f"wrong purpose: key {KID} is trusted for {artifacts_only} only, not attestations"
    )
    unhinted = dataclasses.replace(sign_statement(_statement(), KEY), public_key_hint=None)
    with pytest.raises(UntrustedKey) as info:
        verify_attestation(unhinted, _policy(artifacts_only))
    assert info.value.message == (
        "bundle is signed with a public key but the policy trusts no key for attestations"
    )
