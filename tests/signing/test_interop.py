"""Interop: OpenSSL verifies nebsign signatures (and vice versa); bundles fit the v0.3 schema."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from signing.sigassets import ARTIFACT_SHA, GOLDEN, KEY_IDS, artifact_bundle

from nebsign.bundle import BUNDLE_MEDIA_TYPE, Bundle, DsseEnvelope, MessageSignature
from nebsign.keys import load_public_key
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import SignatureMismatch, verify_artifact

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    argv = [OPENSSL, *map(str, args)]
    return subprocess.run(argv, capture_output=True, check=False, timeout=60)


def _low_s(der: bytes) -> bytes:
    """OpenSSL's random-nonce ECDSA gives high-S half the time; nebsign takes low-S only."""
    from cryptography.hazmat.primitives.asymmetric import utils

    from nebsign.signing import P256_ORDER

    r, s = utils.decode_dss_signature(der)
    return utils.encode_dss_signature(r, min(s, P256_ORDER - s))


def _pkey_verify(pub: Path, data: Path, sig: Path, *, rawin: bool) -> int:
    extra = ["-rawin"] if rawin else []
    args = ["pkeyutl", "-verify", "-pubin", "-inkey", pub, *extra, "-in", data, "-sigfile", sig]
    return _openssl(*args).returncode


@needs_openssl
def test_openssl_verifies_ed25519_over_the_digest(tmp_path: Path) -> None:
    bundle = artifact_bundle("ed25519-a")
    assert isinstance(bundle.content, MessageSignature)
    (tmp_path / "digest.bin").write_bytes(bytes.fromhex(ARTIFACT_SHA))
    (tmp_path / "sig.bin").write_bytes(bundle.content.signature)
    pub = GOLDEN / "keys/ed25519-a.pub"
    data, sig = tmp_path / "digest.bin", tmp_path / "sig.bin"
    assert _pkey_verify(pub, data, sig, rawin=True) == 0
    data.write_bytes(hashlib.sha256(b"other").digest())
    assert _pkey_verify(pub, data, sig, rawin=True) != 0


@needs_openssl
def test_openssl_ed25519_signature_is_identical(tmp_path: Path) -> None:
    """Ed25519 is deterministic: openssl signing the digest gives nebsign's exact bytes."""
    (tmp_path / "digest.bin").write_bytes(bytes.fromhex(ARTIFACT_SHA))
    key = GOLDEN / "keys/ed25519-a.key"
    made = _openssl(
        "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", tmp_path / "digest.bin",
        "-out", tmp_path / "sig.bin",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    bundle = artifact_bundle("ed25519-a")
    assert isinstance(bundle.content, MessageSignature)
    assert (tmp_path / "sig.bin").read_bytes() == bundle.content.signature


@needs_openssl
def test_openssl_verifies_p256_over_the_digest(tmp_path: Path) -> None:
    """ECDSA-SHA256 with the 32 digest bytes as the message (ADR 0006), not the artifact."""
    bundle = artifact_bundle("p256-a")
    assert isinstance(bundle.content, MessageSignature)
    (tmp_path / "digest.bin").write_bytes(bytes.fromhex(ARTIFACT_SHA))
    (tmp_path / "sig.der").write_bytes(bundle.content.signature)
    pub = GOLDEN / "keys/p256-a.pub"
    dgst = _openssl("dgst", "-sha256", "-verify", pub, "-signature", str(tmp_path / "sig.der"),
                    str(tmp_path / "digest.bin"))  # fmt: skip
    assert dgst.returncode == 0, dgst.stderr
    # ... and not over the artifact (cosign sign-blob's scheme, the one a PAE can ride on)
    dgst = _openssl("dgst", "-sha256", "-verify", pub, "-signature", str(tmp_path / "sig.der"),
                    str(GOLDEN / "artifact.bin"))  # fmt: skip
    assert dgst.returncode != 0


@needs_openssl
def test_nebsign_verifies_openssl_signatures(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"signed by openssl\n")
    digest = hashlib.sha256(b"signed by openssl\n").digest()
    (tmp_path / "digest.bin").write_bytes(digest)
    made = _openssl("dgst", "-sha256", "-sign", str(GOLDEN / "keys/p256-a.key"),
                    "-out", str(tmp_path / "sig.der"), str(tmp_path / "digest.bin"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    bundle = Bundle(
        content=MessageSignature(_low_s((tmp_path / "sig.der").read_bytes()), digest),
        public_key_hint=KEY_IDS["p256-a"],
    )
    policy = TrustPolicy.from_keys([load_public_key((GOLDEN / "keys/p256-a.pub").read_bytes())])
    assert verify_artifact(digest.hex(), [Bundle.from_json(bundle.to_json())], policy).signers


@needs_openssl
def test_cosign_style_p256_signatures_are_refused_with_a_reason(tmp_path: Path) -> None:
    """ECDSA over the artifact (cosign sign-blob, nebsign before ADR 0006): refused, named."""
    made = _openssl("dgst", "-sha256", "-sign", str(GOLDEN / "keys/p256-a.key"),
                    "-out", str(tmp_path / "sig.der"), str(GOLDEN / "artifact.bin"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    bundle = Bundle(
        content=MessageSignature(
            _low_s((tmp_path / "sig.der").read_bytes()), bytes.fromhex(ARTIFACT_SHA)
        ),
        public_key_hint=KEY_IDS["p256-a"],
    )
    policy = TrustPolicy.from_keys([load_public_key((GOLDEN / "keys/p256-a.pub").read_bytes())])
    with pytest.raises(SignatureMismatch, match="over the artifact itself"):
        verify_artifact(ARTIFACT_SHA, [bundle], policy)


@needs_openssl
def test_openssl_verifies_dsse_pae(tmp_path: Path) -> None:
    bundle = Bundle.from_json((GOLDEN / "sast.sigstore.json").read_bytes())
    assert isinstance(bundle.content, DsseEnvelope)
    (tmp_path / "pae.bin").write_bytes(bundle.content.pae())
    (tmp_path / "sig.bin").write_bytes(bundle.content.signature)
    pub = GOLDEN / "keys/ed25519-a.pub"
    assert _pkey_verify(pub, tmp_path / "pae.bin", tmp_path / "sig.bin", rawin=True) == 0


def test_pae_matches_the_dsse_spec_vector() -> None:
    from nebsign.bundle import pae

    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


BUNDLES = sorted(p.name for p in GOLDEN.glob("*.sigstore.json"))


@pytest.mark.parametrize("name", BUNDLES)
def test_bundles_validate_against_the_v03_schema(name: str) -> None:
    """sigstore-models (generated from sigstore/protobuf-specs) accepts every bundle we write."""
    from sigstore_models.bundle.v1 import Bundle as SchemaBundle

    raw = (GOLDEN / name).read_bytes()
    model = SchemaBundle.from_json(raw)
    assert model.media_type == BUNDLE_MEDIA_TYPE
    assert model.verification_material.public_key is not None
    again = Bundle.from_json(model.to_json().encode())
    assert again == Bundle.from_json(raw)


def test_schema_model_rejects_what_we_reject() -> None:
    from pydantic import ValidationError
    from sigstore_models.bundle.v1 import Bundle as SchemaBundle

    raw = (GOLDEN / "artifact.bin.ed25519-a.sigstore.json").read_bytes()
    broken = raw.replace(b'"signature":', b'"signatur":')
    with pytest.raises((ValidationError, ValueError)):
        SchemaBundle.from_json(broken)
    from nebsign.bundle import InvalidBundle

    with pytest.raises(InvalidBundle):
        Bundle.from_json(broken)


def test_key_based_verify_does_not_import_sigstore() -> None:
    args = ["verify", str(GOLDEN / "artifact.bin"), "--bundle",
            str(GOLDEN / "artifact.bin.ed25519-a.sigstore.json"),
            "--key", str(GOLDEN / "keys/ed25519-a.pub")]  # fmt: skip
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "nebsign", *args],
                          capture_output=True, check=False, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.decode().splitlines()]
    heavy = [m for m in imported if m.split(".")[0] in {"sigstore", "sigstore_models", "pydantic"}]
    assert not heavy, heavy
