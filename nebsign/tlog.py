"""Transparency log entries on public-key bundles (checked when present).

A ``cosign sign-blob --key`` bundle may carry a Rekor entry. When it does,
nebsign checks it against the Rekor keys of the policy's pinned trusted root:
the inclusion proof and signed checkpoint, the signed entry timestamp (Rekor
v1; Rekor v2 entries have none), and that the logged body names the same
digest, signature and public key as the bundle (``hashedrekord``/``dsse``
0.0.1 bodies of Rekor v1, ``hashedRekordV002``/``dsseV002`` of Rekor v2).
The sigstore library does the log cryptography; it is imported only
here, only for bundles that carry entries.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from nebsign.bundle import Bundle, DsseEnvelope, MessageSignature, TlogEntry
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError
from nebsign.keys import InvalidKey, key_id, load_public_key
from nebsign.policy.trust import Signer, TrustPolicy

__all__ = ["TlogInvalid", "verify_tlog_entries"]


class TlogInvalid(VerdictError):
    """A transparency log entry does not verify or does not match the bundle."""

    reason = "tlog-invalid"


def _body(entry: TlogEntry) -> dict[str, Any]:
    try:
        body = json.loads(entry.canonicalized_body)
    except (ValueError, RecursionError) as exc:
        raise TlogInvalid("transparency log entry body is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise TlogInvalid("transparency log entry body has no spec")
    return body


def _field(obj: dict[str, Any], name: str) -> dict[str, Any]:
    """``obj[name]`` when it is an object, else empty (log bodies are not signed: any shape)."""
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


def _key_matches(pem_b64: object, signer: Signer) -> bool:
    if not isinstance(pem_b64, str):
        return False
    try:
        return key_id(load_public_key(base64.b64decode(pem_b64, validate=True))) == signer.key_id
    except (InvalidKey, ValueError):
        return False


def _der_matches(der_b64: object, signer: Signer) -> bool:
    """A Rekor v2 verifier's ``publicKey.rawBytes`` (DER SPKI) is *signer*'s key."""
    if not isinstance(der_b64, str):
        return False
    try:
        return sha256_bytes(base64.b64decode(der_b64, validate=True)) == signer.key_id
    except ValueError:
        return False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _v1_matches(
    spec: dict[str, Any], content: MessageSignature | DsseEnvelope, signer: Signer
) -> bool:
    if isinstance(content, MessageSignature):
        data = _field(_field(spec, "data"), "hash")
        sig = _field(spec, "signature")
        return (
            content.digest is not None
            and data.get("algorithm") == "sha256"
            and data.get("value") == content.digest.hex()
            and sig.get("content") == _b64(content.signature)
            and _key_matches(_field(sig, "publicKey").get("content"), signer)
        )
    payload_hash = _field(spec, "payloadHash")
    sigs = spec.get("signatures")
    return (
        payload_hash.get("value") == sha256_bytes(content.payload)
        and isinstance(sigs, list)
        and len(sigs) == 1
        and isinstance(sigs[0], dict)
        and sigs[0].get("signature") == _b64(content.signature)
        and _key_matches(sigs[0].get("verifier"), signer)
    )


def _v2_matches(
    spec: dict[str, Any], content: MessageSignature | DsseEnvelope, signer: Signer
) -> bool:
    """Rekor v2 (0.0.2) bodies: ``hashedRekordV002`` / ``dsseV002``, digests in base64."""
    if isinstance(content, MessageSignature):
        inner = _field(spec, "hashedRekordV002")
        data, sig = _field(inner, "data"), _field(inner, "signature")
        return (
            content.digest is not None
            and data.get("algorithm") == "SHA2_256"
            and data.get("digest") == _b64(content.digest)
            and sig.get("content") == _b64(content.signature)
            and _der_matches(_field(_field(sig, "verifier"), "publicKey").get("rawBytes"), signer)
        )
    inner = _field(spec, "dsseV002")
    payload_hash = _field(inner, "payloadHash")
    sigs = inner.get("signatures")
    first = sigs[0] if isinstance(sigs, list) and len(sigs) == 1 else None
    return (
        payload_hash.get("algorithm") == "SHA2_256"
        and payload_hash.get("digest") == _b64(bytes.fromhex(sha256_bytes(content.payload)))
        and isinstance(first, dict)
        and first.get("content") == _b64(content.signature)
        and _der_matches(_field(_field(first, "verifier"), "publicKey").get("rawBytes"), signer)
    )


def _check_body(entry: TlogEntry, bundle: Bundle, signer: Signer) -> None:
    body = _body(entry)
    spec = body["spec"]
    content = bundle.content
    want = "hashedrekord" if isinstance(content, MessageSignature) else "dsse"
    if (entry.kind, body.get("kind")) != (want, want):
        shape = "a message signature" if want == "hashedrekord" else "a DSSE envelope"
        raise TlogInvalid(f"log entry kind {entry.kind!r} does not fit {shape}")
    assert isinstance(content, MessageSignature | DsseEnvelope)
    matches = _v2_matches if entry.version == "0.0.2" else _v1_matches
    if not matches(spec, content, signer):
        raise TlogInvalid(
            "transparency log entry does not match the bundle (digest, signature or key differ)"
        )


#: Rekor v1 (0.0.1) and Rekor v2 (0.0.2) entry kinds
_KINDS = {
    ("hashedrekord", "0.0.1"),
    ("dsse", "0.0.1"),
    ("hashedrekord", "0.0.2"),
    ("dsse", "0.0.2"),
}


def _check_strict(entry: TlogEntry, body: dict[str, Any]) -> None:
    """Reject what the log's signatures do not cover: kind/version and the checkpoint's framing."""
    if (entry.kind, entry.version) not in _KINDS or body.get("apiVersion") != entry.version:
        raise TlogInvalid(
            f"log entry kind {entry.kind}/{entry.version} is unsupported or differs from its body"
        )
    proof = entry.raw.get("inclusionProof")
    if not isinstance(proof, dict):
        return
    checkpoint = proof.get("checkpoint")
    envelope = checkpoint.get("envelope") if isinstance(checkpoint, dict) else None
    if not isinstance(envelope, str) or envelope.count("\n\n") != 1:
        raise TlogInvalid("log entry checkpoint is malformed")
    note, signatures = envelope.split("\n\n")
    lines = signatures.split("\n")
    origin = note.split("\n", 1)[0].split(" ", 1)[0]
    if lines[-1] != "" or not all(
        line.startswith(f"\u2014 {origin} ") and line.count(" ") == 2 for line in lines[:-1]
    ):
        raise TlogInvalid("log entry checkpoint signature lines do not name the log's origin")


def verify_tlog_entries(bundle: Bundle, signer: Signer, policy: TrustPolicy) -> None:
    """Verify every log entry of a public-key *bundle* signed by *signer*.

    Raises :class:`TlogInvalid` when an entry fails, :class:`InputError` when
    the policy pins no trusted root to check it with.
    """
    if policy.trusted_root is None:
        raise InputError(
            "bundle carries a transparency log entry but no Sigstore trusted root is pinned",
            hint="add [sigstore] to the policy, or pass --trusted-root",
        )
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TransparencyLogEntry
    from sigstore.models import TrustedRoot as SigstoreTrustedRoot
    from sigstore_models.rekor.v1 import TransparencyLogEntry as RawEntry
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        root = SigstoreTrustedRoot(trustroot_v1.TrustedRoot.from_json(policy.trusted_root.data))
        keyring = root.rekor_keyring(KeyringPurpose.VERIFY)
    except (SigstoreError, ValueError) as exc:
        from nebsign.keyless import short_error

        raise InputError(
            f"trusted root {policy.trusted_root.name} is not usable: {short_error(exc)}"
        ) from exc
    for entry in bundle.tlog_entries:
        if not entry.has_inclusion_proof:
            raise TlogInvalid(
                f"transparency log entry {entry.log_index} has no inclusion proof (bundle v0.3 "
                "requires one; a signed entry timestamp alone is not accepted)"
            )
        _check_body(entry, bundle, signer)
        _check_strict(entry, _body(entry))
        try:
            parsed = TransparencyLogEntry(RawEntry.from_dict(entry.raw))
            parsed._verify(keyring)
        except (SigstoreError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            # ValueError includes binascii.Error and UnicodeError: the entry is not
            # signed data, anyone can edit it, so any failure is "does not verify"
            text = " ".join(str(exc).split())[:200]
            raise TlogInvalid(
                f"transparency log entry {entry.log_index} does not verify: {text}"
            ) from exc
