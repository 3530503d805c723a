"""Transparency log entries on public-key bundles (checked when present).

A ``cosign sign-blob --key`` bundle may carry a Rekor entry. When it does,
nebsign checks it against the Rekor keys of the policy's pinned trusted root:
the inclusion proof and signed checkpoint, the signed entry timestamp, and
that the logged body names the same digest, signature and public key as the
bundle. The sigstore library does the log cryptography; it is imported only
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


def _key_matches(pem_b64: object, signer: Signer) -> bool:
    if not isinstance(pem_b64, str):
        return False
    try:
        return key_id(load_public_key(base64.b64decode(pem_b64, validate=True))) == signer.key_id
    except (InvalidKey, ValueError):
        return False


def _check_body(entry: TlogEntry, bundle: Bundle, signer: Signer) -> None:
    body = _body(entry)
    spec = body["spec"]
    content = bundle.content
    if isinstance(content, MessageSignature):
        if (entry.kind, body.get("kind")) != ("hashedrekord", "hashedrekord"):
            raise TlogInvalid(f"log entry kind {entry.kind!r} does not fit a message signature")
        data = spec.get("data", {}).get("hash", {}) if isinstance(spec.get("data"), dict) else {}
        sig: dict[str, Any] = spec["signature"] if isinstance(spec.get("signature"), dict) else {}
        key: dict[str, Any] = sig["publicKey"] if isinstance(sig.get("publicKey"), dict) else {}
        ok = (
            content.digest is not None
            and data.get("algorithm") == "sha256"
            and data.get("value") == content.digest.hex()
            and sig.get("content") == base64.b64encode(content.signature).decode()
            and _key_matches(key.get("content"), signer)
        )
    else:
        assert isinstance(content, DsseEnvelope)
        if (entry.kind, body.get("kind")) != ("dsse", "dsse"):
            raise TlogInvalid(f"log entry kind {entry.kind!r} does not fit a DSSE envelope")
        payload_hash = spec.get("payloadHash") if isinstance(spec.get("payloadHash"), dict) else {}
        sigs = spec.get("signatures")
        ok = (
            payload_hash.get("value") == sha256_bytes(content.payload)
            and isinstance(sigs, list)
            and len(sigs) == 1
            and isinstance(sigs[0], dict)
            and sigs[0].get("signature") == base64.b64encode(content.signature).decode()
            and _key_matches(sigs[0].get("verifier"), signer)
        )
    if not ok:
        raise TlogInvalid(
            "transparency log entry does not match the bundle (digest, signature or key differ)"
        )


_KINDS = {("hashedrekord", "0.0.1"), ("dsse", "0.0.1")}


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
        raise InputError(f"trusted root {policy.trusted_root.name} is not usable: {exc}") from exc
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
        except (SigstoreError, ValueError, KeyError) as exc:
            text = " ".join(str(exc).split())[:200]
            raise TlogInvalid(
                f"transparency log entry {entry.log_index} does not verify: {text}"
            ) from exc
