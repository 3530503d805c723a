"""The bundle the keyless statement signer hands on, built offline with sigstore-python's own code.

``Signer.sign_dsse`` does three things: ``dsse._sign`` (the DSSE envelope, with the
ephemeral key), a Rekor entry (network), ``Bundle._from_parts`` (the bundle). Here the
envelope and the bundle come from those same sigstore-python functions, with a
certificate shaped like Fulcio's (SAN + OIDC issuer extension) and a real Rekor entry
taken from sigstore-python's test data in place of a fresh one. What this proves: that
bundle shape passes nebsign's strict bundle parser and
:func:`nebsign.signing.keyless_statement_bundle`, carries exactly the statement, its
signature verifies over a PAE computed here from the DSSE spec, the release signer reads
the identity a host must pin from its certificate, and ``verify_attestation`` takes it to
the Sigstore chain check (which refuses a certificate that Fulcio did not issue, exit 1)
rather than refusing its shape (exit 2). Signing against the real Fulcio and Rekor is
``tests/release/test_keyless_release_network.py``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from helpers import SHARED

from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.bundle import DsseEnvelope, InvalidBundle
from nebsign.errors import EnvironmentFault, VerdictError
from nebsign.keyless import KeylessVerificationFailed
from nebsign.policy.trust import TrustPolicy
from nebsign.release.signer import SigstoreReleaseSigner, host_trust_policy
from nebsign.signing import SigstoreToken, keyless_statement_bundle, sign_digest
from nebsign.verify import verify_attestation

DATA = SHARED / "testdata" / "sigstore"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not present")
IDENTITY = "https://github.com/nebsign/example/.github/workflows/release.yml@refs/tags/v1.4.3"
ISSUER = "https://token.actions.githubusercontent.com"
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


def _fulcio_like_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """A code-signing leaf as Fulcio issues it: SAN URI, OIDC issuer (v2 extension)."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(minutes=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(IDENTITY)]), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.UnrecognizedExtension(_ISSUER_V2, _der_utf8(ISSUER)), critical=False)
        .sign(key, hashes.SHA256())
    )


def _statement() -> Statement:
    digest = "ab" * 32
    return Statement((Subject("release.json", digest),), SAST_V1, {"verdict": "pass"})


def _sigstore_bundle(payload: bytes) -> tuple[bytes, x509.Certificate]:
    """What ``Signer.sign_dsse`` returns, minus the network (see the module docstring)."""
    from sigstore import dsse
    from sigstore.models import Bundle as SigstoreBundle

    key = ec.generate_private_key(ec.SECP256R1())
    cert = _fulcio_like_cert(key)
    envelope = dsse._sign(key, dsse.Statement(payload))
    real = SigstoreBundle.from_json((DATA / "bundle_v3_github.whl.sigstore").read_bytes())
    bundle = SigstoreBundle._from_parts(cert, envelope, real.log_entry, [])
    return bundle.to_json().encode(), cert


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 PAE from the spec (not nebsign's): "DSSEv1" SP len SP type SP len SP body."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def test_sign_dsse_bundle_is_what_nebsign_verifies() -> None:
    payload = _statement().to_json()
    raw, cert = _sigstore_bundle(payload)
    bundle = keyless_statement_bundle(raw, payload)
    content = bundle.content
    assert isinstance(content, DsseEnvelope)
    assert content.payload == payload and content.payload_type == "application/vnd.in-toto+json"
    assert bundle.certificate == cert.public_bytes(serialization.Encoding.DER)
    assert bundle.to_json() == raw  # a keyless bundle is kept exactly as Sigstore wrote it
    doc: dict[str, Any] = json.loads(raw)
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert set(doc["verificationMaterial"]) >= {"certificate", "tlogEntries"}
    [signature] = doc["dsseEnvelope"]["signatures"]
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        base64.b64decode(signature["sig"]),
        _pae(doc["dsseEnvelope"]["payloadType"], base64.b64decode(doc["dsseEnvelope"]["payload"])),
        ec.ECDSA(hashes.SHA256()),
    )  # raises InvalidSignature if the envelope signed anything else


def test_verify_attestation_reaches_the_chain_check_not_a_shape_refusal() -> None:
    from nebsign.policy.trust import TrustedIdentity, bundled_trusted_root

    payload = _statement().to_json()
    bundle = keyless_statement_bundle(_sigstore_bundle(payload)[0], payload)
    policy = TrustPolicy.from_identities(
        [TrustedIdentity(ISSUER, identity=IDENTITY)], bundled_trusted_root("production")
    )
    with pytest.raises(KeylessVerificationFailed, match="certificate chain") as caught:
        verify_attestation(bundle, policy)  # Fulcio did not issue it: refused as a verdict
    assert isinstance(caught.value, VerdictError) and caught.value.exit_code == 1


def test_release_signer_reads_the_identity_a_host_must_pin() -> None:
    payload = _statement().to_json()
    bundle = keyless_statement_bundle(_sigstore_bundle(payload)[0], payload)
    signer = SigstoreReleaseSigner(SigstoreToken(object()), staging=False)
    assert signer.describe()["identity"] is None  # nothing signed: the certificate says
    signer._note(bundle)
    assert signer.identity == (IDENTITY, ISSUER)
    described = signer.describe()
    assert (described["identity"], described["issuer"]) == (IDENTITY, ISSUER)
    pinned = TrustPolicy.from_toml(described["host_policy"].encode(), what="host trust policy")
    [trusted] = pinned.identities
    assert (trusted.identity, trusted.issuer) == (IDENTITY, ISSUER)
    assert pinned.trusted_root is not None and "production" in pinned.trusted_root.name
    assert signer.trust_policy().identities == pinned.identities
    assert described["host_policy"] == host_trust_policy(IDENTITY, ISSUER, "production")


def test_a_second_identity_in_one_release_is_refused() -> None:
    payload = _statement().to_json()
    bundle = keyless_statement_bundle(_sigstore_bundle(payload)[0], payload)
    signer = SigstoreReleaseSigner(SigstoreToken(object()))
    signer._note(bundle)
    signer._identity = ("someone-else@example.com", ISSUER)
    with pytest.raises(EnvironmentFault, match="changed identity"):
        signer._note(bundle)


@pytest.mark.parametrize("what", ["other statement", "artifact signature", "key-based"])
def test_anything_but_a_keyless_envelope_of_the_statement_is_refused(what: str) -> None:
    payload = _statement().to_json()
    raw, _ = _sigstore_bundle(payload)
    if what == "other statement":
        other = Statement((Subject("release.json", "cd" * 32),), SAST_V1, {"verdict": "pass"})
        with pytest.raises(EnvironmentFault, match="not a keyless in-toto DSSE envelope"):
            keyless_statement_bundle(raw, other.to_json())
        return
    if what == "artifact signature":
        doc = json.loads(raw)
        doc.pop("dsseEnvelope")
        doc["messageSignature"] = {"signature": base64.b64encode(b"x" * 64).decode()}
        with pytest.raises(EnvironmentFault):
            keyless_statement_bundle(json.dumps(doc).encode(), payload)
        return
    from nebsign.keys import generate_key

    with pytest.raises(EnvironmentFault):
        keyless_statement_bundle(sign_digest("ab" * 32, generate_key()).to_json(), payload)


def test_an_unreadable_sigstore_answer_is_an_environment_fault() -> None:
    """Not the user's input (2): Sigstore's answer, so exit 3, with the parser's reason."""
    payload = _statement().to_json()
    doc = json.loads(_sigstore_bundle(payload)[0])
    doc["verificationMaterial"]["surprise"] = 1
    with pytest.raises(EnvironmentFault, match="cannot read") as caught:
        keyless_statement_bundle(json.dumps(doc).encode(), payload)
    assert isinstance(caught.value.__cause__, InvalidBundle)
