"""In-process tests of the verification core at its boundaries (docs/mutants.md).

Mutation testing runs only in-process tests against mutants; these pin the exact
instant a key expires, which keys are tried for which hint, purposes, and what each
refusal says, so that a one-character change to ``nebsign/verify.py`` fails a test.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from signing.sigassets import ARTIFACT_SHA, GOLDEN, KEY_IDS, artifact_bundle, golden_policy

from nebsign.attest import Statement, Subject
from nebsign.bundle import Bundle, MessageSignature
from nebsign.errors import InputError
from nebsign.keyless import IdentityMismatch
from nebsign.keys import KeyKind, generate_key, key_id, load_public_key, public_key_pem
from nebsign.policy.trust import Purposes, TrustedIdentity, TrustPolicy, bundled_trusted_root
from nebsign.signing import sign_digest, sign_statement
from nebsign.verify import (
    DigestMismatch,
    KeyExpired,
    MissingAttestation,
    SignatureMismatch,
    UntrustedKey,
    verify_artifact,
    verify_attestations,
)

NOT_AFTER = datetime(2026, 6, 1, tzinfo=UTC)  # policy-expired.toml


def _pem(name: str) -> str:
    return (GOLDEN / "keys" / f"{name}.pub").read_text()


def _policy(*keys: tuple[str, str]) -> TrustPolicy:
    """A policy trusting each (key name, extra TOML lines)."""
    text = "version = 1\n"
    for name, extra in keys:
        text += f'[[keys]]\nid = "{KEY_IDS[name]}"\npem = """\n{_pem(name)}"""\n{extra}\n'
    return TrustPolicy.from_toml(text.encode(), GOLDEN)


def test_a_key_is_valid_up_to_its_not_after_instant_and_not_after() -> None:
    policy = golden_policy("policy-expired.toml")
    bundle = artifact_bundle("ed25519-a")
    ok = verify_artifact(ARTIFACT_SHA, [bundle], policy, now=NOT_AFTER)  # the last valid instant
    assert ok.signers == (KEY_IDS["ed25519-a"],)
    with pytest.raises(KeyExpired) as info:
        verify_artifact(ARTIFACT_SHA, [bundle], policy, now=NOT_AFTER + timedelta(microseconds=1))
    assert info.value.message == (
        f"expired: trusted key {KEY_IDS['ed25519-a']} was valid until 2026-06-01T00:00:00Z"
    )


def test_without_now_the_clock_decides() -> None:
    bundle = artifact_bundle("ed25519-a")
    with pytest.raises(KeyExpired):  # today is after 2026-06-01 in this suite's world
        verify_artifact(ARTIFACT_SHA, [bundle], golden_policy("policy-expired.toml"))
    future = _policy(("ed25519-a", 'not_after = "2999-01-01T00:00:00Z"'))
    assert verify_artifact(ARTIFACT_SHA, [bundle], future).signers == (KEY_IDS["ed25519-a"],)


def test_a_foreign_hint_tries_the_one_trusted_key_only() -> None:
    good = artifact_bundle("ed25519-a")
    assert good.public_key_hint is not None
    one = _policy(("ed25519-a", ""))
    for hint in ("cosign-key", "a" * 63, "a" * 65):  # not a 64-hex nebsign key id
        foreign = Bundle(content=good.content, public_key_hint=hint)
        assert verify_artifact(ARTIFACT_SHA, [foreign], one).signers == (KEY_IDS["ed25519-a"],)
    two = _policy(("ed25519-a", ""), ("ed25519-b", ""))
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [Bundle(content=good.content, public_key_hint="x")], two)
    assert info.value.message == (
        "wrong key: bundle was signed by key id x; expected "
        + ", ".join(sorted([KEY_IDS["ed25519-a"], KEY_IDS["ed25519-b"]]))
    )
    # a 64-character hint is a key id: an unknown one is refused even with one key
    unknown = Bundle(content=good.content, public_key_hint="f" * 64)
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [unknown], one)
    assert info.value.message == (
        f"wrong key: bundle was signed by key id {'f' * 64}; expected {KEY_IDS['ed25519-a']}"
    )


def test_no_hint_tries_every_trusted_key_and_says_how_many() -> None:
    good = artifact_bundle("ed25519-a")
    bare = Bundle(content=good.content, public_key_hint=None)
    both = _policy(("ed25519-b", ""), ("ed25519-a", ""))
    assert verify_artifact(ARTIFACT_SHA, [bare], both).signers == (KEY_IDS["ed25519-a"],)
    others = _policy(("ed25519-b", ""), ("ed25519-c", ""))
    with pytest.raises(SignatureMismatch) as info:
        verify_artifact(ARTIFACT_SHA, [bare], others)
    assert info.value.message.startswith(
        "signature does not verify with any of the 2 trusted keys (tampered artifact"
    )
    single = _policy(("ed25519-b", ""))
    with pytest.raises(SignatureMismatch) as info:
        verify_artifact(ARTIFACT_SHA, [bare], single)
    assert info.value.message == (
        f"signature does not verify with key {KEY_IDS['ed25519-b']} "
        "(tampered artifact, signature or bundle)"
    )


def test_purposes_decide_which_keys_count() -> None:
    bundle = artifact_bundle("ed25519-a")
    att_only = _policy(("ed25519-a", 'purposes = ["attestations"]'))
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [bundle], att_only)
    assert info.value.message.startswith(
        f"wrong purpose: key {KEY_IDS['ed25519-a']} is trusted for "
    )
    assert info.value.message.endswith(" only, not artifacts")
    bare = Bundle(content=bundle.content, public_key_hint=None)
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [bare], att_only)
    assert info.value.message == (
        "bundle is signed with a public key but the policy trusts no key for artifacts"
    )
    art = _policy(("ed25519-a", 'purposes = ["artifacts"]'))
    assert verify_artifact(ARTIFACT_SHA, [bare], art).signers == (KEY_IDS["ed25519-a"],)


def test_a_public_key_from_pem_verifies_like_the_policy_key() -> None:
    key = load_public_key(_pem("ed25519-a").encode())
    policy = TrustPolicy.from_keys([key])
    assert verify_artifact(ARTIFACT_SHA, [artifact_bundle("ed25519-a")], policy).signers == (
        KEY_IDS["ed25519-a"],
    )


# -- attestations ------------------------------------------------------------------
SAST = "https://nebsign.dev/attestation/sast/v1"
SLSA = "https://slsa.dev/provenance/v1"


def _att(name: str) -> Bundle:
    return Bundle.from_json((GOLDEN / name).read_bytes())


def test_verify_attestations_takes_a_prefixed_digest_and_the_given_clock() -> None:
    policy = golden_policy("policy-attest.toml")
    both = [_att("sast.sigstore.json"), _att("provenance.sigstore.json")]
    for digest in (ARTIFACT_SHA, f"sha256:{ARTIFACT_SHA}"):
        got = verify_attestations(digest, both, policy)
        assert {s.predicate_type for s in got} == {SAST, SLSA}
    expiring = _policy(("ed25519-a", 'not_after = "2026-06-01T00:00:00Z"'))
    sast = [_att("sast.sigstore.json")]
    assert verify_attestations(ARTIFACT_SHA, sast, expiring, now=NOT_AFTER)
    with pytest.raises(KeyExpired):
        verify_attestations(ARTIFACT_SHA, sast, expiring, now=NOT_AFTER + timedelta(seconds=1))


def test_missing_attestations_are_named_in_policy_order() -> None:
    policy = golden_policy("policy-attest.toml")
    with pytest.raises(MissingAttestation) as info:
        verify_attestations(f"sha256:{ARTIFACT_SHA}", [], policy)
    assert info.value.message == (
        f"missing attestation for sha256:{ARTIFACT_SHA}: no verified {SAST}, {SLSA}"
    )
    with pytest.raises(MissingAttestation) as info:
        verify_attestations(ARTIFACT_SHA, [_att("sast.sigstore.json")], policy)
    assert (
        info.value.message == f"missing attestation for sha256:{ARTIFACT_SHA}: no verified {SLSA}"
    )


def test_an_attestation_as_artifact_evidence_names_its_subjects() -> None:
    key = generate_key()
    subjects = tuple(Subject(f"f{i}", f"{i:064x}") for i in range(1, 6))
    bundle = sign_statement(Statement(subjects, SAST, {"verdict": "pass"}), key)
    pem = public_key_pem(key.public_key()).decode()
    text = f'version = 1\n[[keys]]\nid = "{key_id(key.public_key())}"\npem = """\n{pem}"""\n'
    expiring = TrustPolicy.from_toml(
        (text + 'not_after = "2026-06-01T00:00:00Z"\n').encode(), GOLDEN
    )
    ok = verify_artifact(f"{1:064x}", [bundle], expiring, now=NOT_AFTER, attestations=True)
    assert ok.signers == (key_id(key.public_key()),)
    with pytest.raises(DigestMismatch) as info:
        verify_artifact("e" * 64, [bundle], expiring, now=NOT_AFTER, attestations=True)
    first3 = ", ".join(f"sha256:{i:064x}" for i in range(1, 4))
    assert info.value.message == (
        f"tampered artifact: its sha256:{'e' * 64} is not a subject of the {SAST} "
        f"attestation ({first3})"
    )


# -- keyless policies ---------------------------------------------------------------
WHL = "bundle_v3_github.whl"
GH = "https://token.actions.githubusercontent.com"
IDENT = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"


def _keyless() -> tuple[str, Bundle]:
    from helpers import SHARED

    data = SHARED / "testdata" / "sigstore"
    bundle = Bundle.from_json((data / f"{WHL}.sigstore").read_bytes())
    return hashlib.sha256((data / WHL).read_bytes()).hexdigest(), bundle


def test_keyless_bundles_need_identities_and_a_root() -> None:
    digest, bundle = _keyless()
    keys_only = _policy(("ed25519-a", ""))
    with pytest.raises(IdentityMismatch) as info:
        verify_artifact(digest, [bundle], keys_only)
    assert info.value.message == (
        "bundle is signed keyless (Sigstore certificate) but the policy trusts only keys"
    )
    rooted = TrustPolicy.from_identities(
        [TrustedIdentity(GH, IDENT)], bundled_trusted_root("production")
    )
    no_root = dataclasses.replace(rooted, trusted_root=None)
    with pytest.raises(InputError) as err:
        verify_artifact(digest, [bundle], no_root)
    assert err.value.message == "bundle is keyless but the policy pins no Sigstore trusted root"


def test_keyless_purposes_decide_what_an_identity_may_sign() -> None:
    digest, bundle = _keyless()
    root = bundled_trusted_root("production")
    signer = f"{IDENT} ({GH})"
    arts = TrustPolicy.from_identities(
        [TrustedIdentity(GH, IDENT, purposes=Purposes(attestations=False))], root
    )
    assert verify_artifact(digest, [bundle], arts).signers == (signer,)
    atts = TrustPolicy.from_identities(
        [TrustedIdentity(GH, IDENT, purposes=Purposes(artifacts=False))], root
    )
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(digest, [bundle], atts)
    assert info.value.message == (
        f"wrong purpose: {signer} is trusted for attestations only, not artifacts"
    )
    two = TrustPolicy.from_identities(
        [
            TrustedIdentity(GH, IDENT, purposes=Purposes(artifacts=False)),
            TrustedIdentity(GH, identity_regex=".*rfc8785.*", purposes=Purposes(artifacts=False,
                            predicate_types=frozenset({SLSA}))),
        ],
        root,
    )  # fmt: skip
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(digest, [bundle], two)
    assert info.value.message == (
        f"wrong purpose: {signer} is trusted for attestations / attestations of {SLSA} only, "
        "not artifacts"
    )


# -- ECDSA refusals name what they are ------------------------------------------------
def test_ecdsa_refusals_say_whether_the_signature_is_cosign_style() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    key = generate_key(KeyKind.ECDSA_P256)
    kid = key_id(key.public_key())
    policy = TrustPolicy.from_keys([key.public_key()])
    artifact = b"release bytes\n"
    digest = hashlib.sha256(artifact).hexdigest()
    good = sign_digest(digest, key)
    other = Bundle(
        content=MessageSignature(good.content.signature, None), public_key_hint=good.public_key_hint
    )
    with pytest.raises(SignatureMismatch) as info:  # a valid signature of another digest
        verify_artifact("d" * 64, [other], policy)
    assert info.value.message == (
        f"signature does not verify with key {kid} (tampered artifact, signature or bundle)"
    )
    # over the artifact itself, in the low-S form (a high-S one is refused before this)
    r, s_ = utils.decode_dss_signature(key.sign(artifact, ec.ECDSA(hashes.SHA256())))
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    cosign = utils.encode_dss_signature(r, min(s_, order - s_))
    old = Bundle(content=MessageSignature(cosign, None), public_key_hint=good.public_key_hint)
    with pytest.raises(SignatureMismatch) as info:
        verify_artifact(digest, [old], policy)
    assert info.value.message == (
        f"signature does not verify with key {kid} (tampered artifact, signature or bundle)"
        "; it is an ECDSA signature over the artifact itself (cosign sign-blob, or nebsign "
        "before ADR 0006), which is no longer accepted: re-sign with this nebsign"
    )


# -- the digest argument and the result ----------------------------------------------
def test_the_digest_argument_is_checked_and_echoed_bare() -> None:
    policy = golden_policy("policy-2-of-3.toml")
    a, c = artifact_bundle("ed25519-a"), artifact_bundle("ed25519-c")
    got = verify_artifact(f"sha256:{ARTIFACT_SHA}", [a, c], policy)
    assert got.sha256 == ARTIFACT_SHA and got.policy_digest == policy.digest
    with pytest.raises(InputError) as info:
        verify_artifact(ARTIFACT_SHA, [], policy)
    assert info.value.message == "no bundle to verify"
    for bad in ("a" * 63, "X" * 64, "A" * 64, "g" * 64):
        with pytest.raises(InputError) as info:
            verify_artifact(bad, [a], policy)
        assert info.value.message == f"not a SHA-256 hex digest: {bad!r}"
    long = "z" * 100
    with pytest.raises(InputError) as info:
        verify_artifact(long, [a], policy)
    assert info.value.message == f"not a SHA-256 hex digest: {long[:80]!r}"


def test_an_attestation_is_not_an_artifact_signature() -> None:
    from nebsign.bundle import InvalidBundle

    with pytest.raises(InvalidBundle) as info:
        verify_artifact(ARTIFACT_SHA, [_att("sast.sigstore.json")], _policy(("ed25519-a", "")))
    assert info.value.message == "bundle holds an attestation (DSSE), not an artifact signature"
    assert info.value.hint == (
        "`nebsign verify FILE --bundle B` checks that an attestation names FILE"
    )


def test_an_unknown_key_id_when_no_key_may_sign_artifacts() -> None:
    att_only = _policy(("ed25519-a", 'purposes = ["attestations"]'))
    good = artifact_bundle("ed25519-a")
    unknown = Bundle(content=good.content, public_key_hint="f" * 64)
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [unknown], att_only)
    assert info.value.message == (
        f"wrong key: bundle was signed by key id {'f' * 64}; expected no key"
    )


def test_high_s_and_non_der_ecdsa_signatures() -> None:
    from cryptography.hazmat.primitives.asymmetric import utils

    key = generate_key(KeyKind.ECDSA_P256)
    policy = TrustPolicy.from_keys([key.public_key()])
    good = sign_digest(ARTIFACT_SHA, key)
    assert isinstance(good.content, MessageSignature)
    r, s_ = utils.decode_dss_signature(good.content.signature)
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    assert s_ <= order // 2  # nebsign writes low-S
    high = utils.encode_dss_signature(r, order - s_)  # the same signature, other byte form
    twin = Bundle(content=MessageSignature(high, good.content.digest), public_key_hint=None)
    with pytest.raises(SignatureMismatch) as info:
        verify_artifact(ARTIFACT_SHA, [twin], policy)
    assert info.value.message == (
        "high-S ECDSA signature: nebsign accepts only the low-S form (s <= n/2) so that "
        "a signature has one byte form; normalize s to n - s or re-sign"
    )
    junk = Bundle(content=MessageSignature(b"\x01" * 70, None), public_key_hint=None)
    with pytest.raises(SignatureMismatch) as info:  # not DER: the signature check refuses it
        verify_artifact(ARTIFACT_SHA, [junk], policy)
    assert info.value.message.startswith("signature does not verify with key ")


def test_a_failing_bundle_does_not_stop_the_ones_after_it() -> None:
    policy = _policy(("ed25519-a", ""))
    bad, good = artifact_bundle("p256-a"), artifact_bundle("ed25519-a")
    got = verify_artifact(ARTIFACT_SHA, [bad, good], policy)
    assert got.signers == (KEY_IDS["ed25519-a"],)
