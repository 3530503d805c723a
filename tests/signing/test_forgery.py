"""Issue 17.1: an artifact signature is never a DSSE signature, and the reverse.

Before the fix, an ECDSA artifact signature was ECDSA-SHA256 over the
artifact's bytes and a DSSE signature ECDSA-SHA256 over the PAE bytes, so an
artifact whose bytes *are* a PAE encoding produced a signature that verified
as an attestation, and a real attestation's signature verified as the
signature of an artifact made of its PAE bytes. Both directions, both key
kinds, through the library and the CLI.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli

from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.bundle import IN_TOTO_PAYLOAD_TYPE, Bundle, DsseEnvelope, MessageSignature, pae
from nebsign.errors import VerdictError
from nebsign.keys import KeyKind, PrivateKey, generate_key, key_id, private_key_pem, public_key_pem
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import PaeArtifact, artifact_digest, sign_digest, sign_statement
from nebsign.verify import SignatureMismatch, verify_artifact, verify_attestation

VICTIM = hashlib.sha256(b"any file the attacker wants vouched for").hexdigest()


def _forged_statement() -> Statement:
    return Statement((Subject("app.tar.gz", VICTIM),), SAST_V1, {"verdict": "pass"})


@pytest.mark.parametrize("kind", list(KeyKind))
def test_artifact_signature_is_not_an_attestation(kind: KeyKind) -> None:
    key = generate_key(kind)
    policy = TrustPolicy.from_keys([key.public_key()])
    payload = _forged_statement().to_json()
    artifact = pae(IN_TOTO_PAYLOAD_TYPE, payload)  # the bytes a contributor committed
    # sign_digest sees only the digest (the prefix check is on the file path), so
    # this is what a signer that never looked at the bytes would produce
    signed = sign_digest(hashlib.sha256(artifact).hexdigest(), key)
    assert isinstance(signed.content, MessageSignature)
    kid = key_id(key.public_key())
    forged = Bundle(
        content=DsseEnvelope(payload, IN_TOTO_PAYLOAD_TYPE, signed.content.signature, kid),
        public_key_hint=kid,
    )
    with pytest.raises(SignatureMismatch):
        verify_attestation(Bundle.from_json(forged.to_json()), policy)


@pytest.mark.parametrize("kind", list(KeyKind))
def test_attestation_signature_is_not_an_artifact_signature(kind: KeyKind) -> None:
    key = generate_key(kind)
    policy = TrustPolicy.from_keys([key.public_key()])
    real = sign_statement(_forged_statement(), key)
    assert isinstance(real.content, DsseEnvelope)
    assert verify_attestation(real, policy) == _forged_statement()
    artifact_sha = hashlib.sha256(real.content.pae()).hexdigest()
    forged = Bundle(
        content=MessageSignature(real.content.signature, bytes.fromhex(artifact_sha)),
        public_key_hint=key_id(key.public_key()),
    )
    with pytest.raises(VerdictError):
        verify_artifact(artifact_sha, [Bundle.from_json(forged.to_json())], policy)


def test_signer_refuses_pae_prefixed_artifacts(tmp_path: Path) -> None:
    art = tmp_path / "build-output.bin"
    art.write_bytes(pae(IN_TOTO_PAYLOAD_TYPE, _forged_statement().to_json()))
    with pytest.raises(PaeArtifact, match="DSSE"):
        artifact_digest(art)
    art.write_bytes(b"DSSEv1")  # a prefix of the prefix is not one
    assert artifact_digest(art).sha256 == hashlib.sha256(b"DSSEv1").hexdigest()


@pytest.mark.parametrize("kind", list(KeyKind))
def test_cli_forgery_fails_end_to_end(tmp_path: Path, kind: KeyKind) -> None:
    """The issue's reproduction: sign the PAE bytes, move the signature, attest verify."""
    key = generate_key(kind)
    (tmp_path / "k.key").write_bytes(private_key_pem(key, None))
    (tmp_path / "k.pub").write_bytes(public_key_pem(key.public_key()))
    payload = _forged_statement().to_json()
    art = tmp_path / "evil.bin"
    art.write_bytes(pae(IN_TOTO_PAYLOAD_TYPE, payload))
    refused = run_cli("sign", str(art), "--key", str(tmp_path / "k.key"))
    assert_one_line_error(refused, 2)
    assert "DSSE" in refused.stderr
    assert not (tmp_path / "evil.bin.sigstore.json").exists()
    # even a signature made without the prefix check does not verify as an attestation
    signed = sign_digest(hashlib.sha256(art.read_bytes()).hexdigest(), key)
    assert isinstance(signed.content, MessageSignature)
    kid = key_id(key.public_key())
    forged = Bundle(
        content=DsseEnvelope(payload, IN_TOTO_PAYLOAD_TYPE, signed.content.signature, kid),
        public_key_hint=kid,
    )
    (tmp_path / "forged.sigstore.json").write_bytes(forged.to_json())
    (tmp_path / "app.tar.gz").write_bytes(b"any file the attacker wants vouched for")
    result = run_cli(
        "attest", "verify", str(tmp_path / "forged.sigstore.json"), "--key",
        str(tmp_path / "k.pub"), "--type", "sast", "--subject", str(tmp_path / "app.tar.gz"),
    )  # fmt: skip
    assert_one_line_error(result, 1)


# ---- purpose-scoped keys ---------------------------------------------------------------------


def _policy(purposes: dict[str, str]) -> tuple[TrustPolicy, dict[str, PrivateKey]]:
    """A policy with one key per entry of *purposes* (TOML list text, or "" for none)."""
    keys: dict[str, PrivateKey] = {n: generate_key(KeyKind.ECDSA_P256) for n in purposes}
    tables = []
    for name, key in keys.items():
        pem = public_key_pem(key.public_key()).decode()
        extra = f"purposes = {purposes[name]}\n" if purposes[name] else ""
        tables.append(f'[[keys]]\nid = "{key_id(key.public_key())}"\npem = """\n{pem}"""\n{extra}')
    raw = ("version = 1\n\n" + "\n".join(tables)).encode()
    return TrustPolicy.from_toml(raw), keys


def test_purposes_scope_keys() -> None:
    from nebsign.attest import SLSA_PROVENANCE_V1
    from nebsign.verify import UntrustedKey

    policy, keys = _policy(
        {"release": '["artifacts"]', "qa": '["sast"]', "any": '["attestations"]', "all": ""}
    )
    sast = _forged_statement()
    prov = Statement(sast.subjects, SLSA_PROVENANCE_V1, {})
    release, qa, anyk, allk = (keys[n] for n in ("release", "qa", "any", "all"))
    assert verify_artifact(VICTIM, [sign_digest(VICTIM, release)], policy).signers
    assert verify_artifact(VICTIM, [sign_digest(VICTIM, allk)], policy).signers
    with pytest.raises(UntrustedKey, match="wrong purpose"):
        verify_artifact(VICTIM, [sign_digest(VICTIM, qa)], policy)
    with pytest.raises(UntrustedKey, match="wrong purpose"):
        verify_attestation(sign_statement(sast, release), policy)
    assert verify_attestation(sign_statement(sast, qa), policy) == sast
    with pytest.raises(UntrustedKey, match=r"not attestations of https://slsa\.dev"):
        verify_attestation(sign_statement(prov, qa), policy)
    assert verify_attestation(sign_statement(prov, anyk), policy) == prov
    assert verify_attestation(sign_statement(prov, allk), policy) == prov


@pytest.mark.parametrize(
    "value", ["[]", '["artifact"]', '["http://x/y"]', '["attestations", "sast"]', '"artifacts"']
)
def test_bad_purposes_are_refused(value: str) -> None:
    from nebsign.policy.trust import InvalidPolicy

    with pytest.raises(InvalidPolicy, match="purposes"):
        _policy({"k": value})


def test_a_key_listed_with_two_purposes_is_refused() -> None:
    from nebsign.policy.trust import InvalidPolicy

    key = generate_key()
    pem = public_key_pem(key.public_key()).decode()
    kid = key_id(key.public_key())
    groups = "".join(
        f'[[all_of]]\nname = "g{i}"\nkeys = [{{ id = "{kid}", pem = """\n{pem}""", '
        f"purposes = {p} }}]\n"
        for i, p in enumerate(('["artifacts"]', '["sast"]'))
    )
    with pytest.raises(InvalidPolicy, match="purposes"):
        TrustPolicy.from_toml(f"version = 1\n{groups}".encode())
