"""Tamper matrix: flip bytes of the artifact, the signature and the bundle JSON; never a pass."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from helpers import run_cli
from signing.sigassets import ARTIFACT_SHA, GOLDEN, artifact_bundle, golden_policy

from nebsign.bundle import Bundle, MessageSignature
from nebsign.errors import InputError, VerdictError
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import DigestMismatch, SignatureMismatch, verify_artifact, verify_attestation

NOW = datetime(2026, 1, 2, tzinfo=UTC)
ARTIFACT = (GOLDEN / "artifact.bin").read_bytes()


def _flips(data: bytes, masks: tuple[int, ...] = (0x01,)) -> list[bytes]:
    out = []
    for i in range(len(data)):
        for mask in masks:
            flipped = bytearray(data)
            flipped[i] ^= mask
            out.append(bytes(flipped))
    return out


def _policy(signer: str) -> TrustPolicy:
    from nebsign.keys import load_public_key

    return TrustPolicy.from_keys([load_public_key((GOLDEN / f"keys/{signer}.pub").read_bytes())])


@pytest.mark.parametrize("signer", ["ed25519-a", "p256-a"])
def test_every_artifact_byte(signer: str) -> None:
    policy = _policy(signer)
    bundle = artifact_bundle(signer)
    assert isinstance(bundle.content, MessageSignature)
    # without the stated digest, the signature itself must catch every flip
    bare = Bundle(
        content=MessageSignature(bundle.content.signature, None),
        public_key_hint=bundle.public_key_hint,
    )
    verify_artifact(ARTIFACT_SHA, [bare], policy)
    for flipped in _flips(ARTIFACT):
        digest = hashlib.sha256(flipped).hexdigest()
        # a verdict (exit 1) naming what failed, never an input error (exit 2)
        with pytest.raises(DigestMismatch):  # the stated digest is not the artifact's
            verify_artifact(digest, [bundle], policy)
        with pytest.raises(SignatureMismatch):  # no digest stated: the signature fails
            verify_artifact(digest, [bare], policy)


@pytest.mark.parametrize("signer", ["ed25519-a", "p256-a"])
def test_every_signature_byte(signer: str) -> None:
    policy = _policy(signer)
    bundle = artifact_bundle(signer)
    assert isinstance(bundle.content, MessageSignature)
    for flipped in _flips(bundle.content.signature, (0x01, 0x80)):
        forged = Bundle(
            content=MessageSignature(flipped, bundle.content.digest),
            public_key_hint=bundle.public_key_hint,
        )
        with pytest.raises(SignatureMismatch):
            verify_artifact(ARTIFACT_SHA, [forged], policy)


CASES = [
    ("artifact.bin.ed25519-a.sigstore.json", "key:ed25519-a", "artifact"),
    ("artifact.bin.p256-a.sigstore.json", "key:p256-a", "artifact"),
    ("artifact.bin.tlog.sigstore.json", "policy-tlog.toml", "artifact"),
    ("release.json.sigstore.json", "key:ed25519-a", "manifest"),
    ("sast.sigstore.json", "key:ed25519-a", "attestation"),
    ("provenance.sigstore.json", "key:p256-a", "attestation"),
]


@pytest.mark.parametrize(("bundle_file", "trust", "kind"), CASES)
def test_every_bundle_json_byte(bundle_file: str, trust: str, kind: str) -> None:
    policy = _policy(trust[4:]) if trust.startswith("key:") else golden_policy(trust)
    raw = (GOLDEN / bundle_file).read_bytes()
    digest = (
        hashlib.sha256((GOLDEN / "release.json").read_bytes()).hexdigest()
        if kind == "manifest"
        else ARTIFACT_SHA
    )

    def check(data: bytes) -> object:
        bundle = Bundle.from_json(data)
        if kind == "attestation":
            return verify_attestation(bundle, policy, now=NOW)
        return verify_artifact(digest, [bundle], policy, now=NOW)

    check(raw)  # the original verifies
    passed = []
    for i, flipped in enumerate(_flips(raw)):
        try:
            check(flipped)
        except (InputError, VerdictError):  # refused as malformed or as failing; never exit 3
            continue
        passed.append((i, raw[max(0, i - 20) : i + 20]))
    assert not passed, passed[:5]


def test_cli_sample_never_exits_zero(tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = (GOLDEN / "artifact.bin.ed25519-a.sigstore.json").read_bytes()
    pub = str(GOLDEN / "keys/ed25519-a.pub")
    art = str(GOLDEN / "artifact.bin")
    step = max(1, len(raw) // 6)
    for i in range(0, len(raw), step):
        flipped = bytearray(raw)
        flipped[i] ^= 0x01
        path = tmp_path / f"b{i}.json"
        path.write_bytes(bytes(flipped))
        result = run_cli("verify", art, "--bundle", str(path), "--key", pub)
        assert result.exit_code in (1, 2), (i, result.stderr)
        assert "Traceback" not in result.stderr
    assert run_cli("verify", art, "--bundle", str(GOLDEN / "artifact.bin.ed25519-a.sigstore.json"),
                   "--key", pub).exit_code == 0  # fmt: skip
