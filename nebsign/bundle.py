"""Sigstore bundle v0.3 JSON: parse and emit (validated values, no I/O).

One bundle holds one signature: a ``messageSignature`` over an artifact's
SHA-256, or a ``dsseEnvelope`` around an in-toto Statement. Key-based bundles
carry ``verificationMaterial.publicKey.hint`` (the signer's key id, the shape
``cosign sign-blob --key`` writes); keyless bundles carry a Fulcio certificate
and a transparency log entry, which :mod:`nebsign.verify` hands to the
``sigstore`` library.

Nothing in a bundle is trusted: the hint only says which trusted key to try.
The parser is strict (unknown media types, bad base64, wrong shapes and
oversize input are :class:`InvalidBundle`, exit 2) and imports neither
sigstore nor pydantic, so key-based verification starts fast (ADR 0002).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from nebsign._internal import fields
from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign.errors import InputError

__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "DIGEST_MESSAGE_BYTES",
    "IN_TOTO_PAYLOAD_TYPE",
    "MAX_BUNDLE_BYTES",
    "Bundle",
    "DsseEnvelope",
    "InvalidBundle",
    "MessageSignature",
    "TlogEntry",
    "pae",
]

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: media types accepted on input (v0.1 and v0.2 only appear in keyless bundles)
_MEDIA_TYPES = frozenset(
    {
        BUNDLE_MEDIA_TYPE,
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
)
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 4 * 1024 * 1024  # a bundle is kilobytes; an attestation's statement fits


class InvalidBundle(InputError):
    """The bytes are not a well-formed Sigstore bundle."""

    reason = "invalid-bundle"


#: an artifact signature signs the raw 32-byte SHA-256 digest; a PAE is always longer (ADR 0006)
DIGEST_MESSAGE_BYTES = 32


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what a DSSE signature signs."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True, slots=True)
class MessageSignature:
    """A signature over a message digest; ``digest`` is the raw 32-byte SHA-256 (or None)."""

    signature: bytes
    digest: bytes | None

    @property
    def sha256_hex(self) -> str | None:
        """The signed digest as lowercase hex, when the bundle states it."""
        return None if self.digest is None else self.digest.hex()


@dataclass(frozen=True, slots=True)
class DsseEnvelope:
    """A DSSE envelope with exactly one signature (the bundle v0.3 rule)."""

    payload: bytes
    payload_type: str
    signature: bytes
    keyid: str = ""

    def pae(self) -> bytes:
        """The bytes the signature signs."""
        return pae(self.payload_type, self.payload)


@dataclass(frozen=True, slots=True)
class TlogEntry:
    """A transparency log entry, kept as parsed plus its original JSON object."""

    log_index: int
    log_id: bytes
    kind: str
    version: str
    integrated_time: int
    canonicalized_body: bytes
    signed_entry_timestamp: bytes | None
    has_inclusion_proof: bool
    raw: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Bundle:
    """A parsed Sigstore bundle.

    ``content`` is a :class:`MessageSignature` or a :class:`DsseEnvelope`.
    Exactly one of ``public_key_hint`` / ``certificate`` describes the signer
    (the hint may be ``None`` for a public-key bundle without one).
    ``source`` keeps the original bytes of a parsed bundle (keyless bundles
    are handed to the sigstore library as they came).
    """

    content: MessageSignature | DsseEnvelope
    public_key_hint: str | None = None
    certificate: bytes | None = None
    tlog_entries: tuple[TlogEntry, ...] = ()
    media_type: str = BUNDLE_MEDIA_TYPE
    source: bytes = field(default=b"", compare=False, repr=False)

    @property
    def is_keyless(self) -> bool:
        """True when the signer is named by a certificate (Sigstore keyless)."""
        return self.certificate is not None

    @classmethod
    def from_json(cls, raw: bytes, what: str = "bundle") -> Bundle:
        """Parse and validate bundle JSON bytes; :class:`InvalidBundle` if malformed."""
        fast = _fast_parse(raw)
        if fast is not None:
            return fast
        return _parse(_loads(raw, what), raw, what)

    def to_dict(self) -> dict[str, Any]:
        """The bundle as a JSON-ready dict (protobuf JSON field names)."""
        material: dict[str, Any] = {}
        if self.certificate is not None:
            material["certificate"] = {"rawBytes": _b64(self.certificate)}
        else:
            material["publicKey"] = {"hint": self.public_key_hint} if self.public_key_hint else {}
        material["tlogEntries"] = [entry.raw for entry in self.tlog_entries]
        out: dict[str, Any] = {"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": material}
        content = self.content
        if isinstance(content, MessageSignature):
            sig: dict[str, Any] = {"signature": _b64(content.signature)}
            if content.digest is not None:
                sig["messageDigest"] = {"algorithm": "SHA2_256", "digest": _b64(content.digest)}
            out["messageSignature"] = sig
        else:
            out["dsseEnvelope"] = {
                "payload": _b64(content.payload),
                "payloadType": content.payload_type,
                "signatures": [{"keyid": content.keyid, "sig": _b64(content.signature)}],
            }
        return out

    def to_json(self) -> bytes:
        """Canonical JSON bytes (RFC 8785): the same bundle always gives the same bytes.

        A parsed keyless bundle is returned exactly as it was read.
        """
        if self.certificate is not None and self.source:
            return self.source
        return canonical_json(self.to_dict())


#: the exact canonical bytes nebsign writes for a key-based message signature;
#: anything else (other key order, whitespace, more fields) takes the full parser
_CANONICAL_MESSAGE_BUNDLE = re.compile(
    rb'\{"mediaType":"application/vnd\.dev\.sigstore\.bundle\.v0\.3\+json",'
    rb'"messageSignature":\{"messageDigest":\{"algorithm":"SHA2_256","digest":"([A-Za-z0-9+/]{43}=)"\},'
    rb'"signature":"([A-Za-z0-9+/]{1,340}={0,2})"\},'
    rb'"verificationMaterial":\{"publicKey":\{"hint":"([0-9a-f]{64})"\},"tlogEntries":\[\]\}\}'
)


def _fast_parse(raw: bytes) -> Bundle | None:
    """The hot path of verification: the canonical key-based bundle, without json.loads.

    Accepts only the exact bytes :meth:`Bundle.to_json` writes; the values are
    the ones the full parser would produce (tests compare both paths).
    """
    match = _CANONICAL_MESSAGE_BUNDLE.fullmatch(raw)
    if match is None:
        return None
    digest_b64, sig_b64, hint = match.groups()
    try:
        digest = base64.b64decode(digest_b64, validate=True)
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(digest) != digest_b64 or base64.b64encode(signature) != sig_b64:
        return None  # non-canonical base64: let the full parser explain
    return Bundle(
        content=MessageSignature(signature=signature, digest=digest),
        public_key_hint=hint.decode("ascii"),
        source=raw,
    )


def _loads(raw: bytes, what: str) -> dict[str, Any]:
    """Strict, bounded JSON object parse (no duplicate keys, no NaN); the hot path of verify."""
    return parse_json_object(raw, what, limit=MAX_BUNDLE_BYTES, error=InvalidBundle)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, where: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidBundle(f"{what}: {where} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidBundle(f"{what}: {where} is not valid base64") from exc
    if base64.b64encode(data) != value.encode("ascii"):
        # unused trailing bits or missing padding: one value, one encoding
        raise InvalidBundle(f"{what}: {where} is not canonical base64")
    return data


_FIELDS: dict[str, frozenset[str]] = {
    "bundle": frozenset({"mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"}),
    "verificationMaterial": frozenset(
        {
            "publicKey",
            "x509CertificateChain",
            "certificate",
            "tlogEntries",
            "timestampVerificationData",
        }
    ),
    "publicKey": frozenset({"hint"}),
    "certificate": frozenset({"rawBytes"}),
    "messageSignature": frozenset({"messageDigest", "signature"}),
    "messageDigest": frozenset({"algorithm", "digest"}),
    "dsseEnvelope": frozenset({"payload", "payloadType", "signatures"}),
    "signature": frozenset({"sig", "keyid"}),
    "logId": frozenset({"keyId"}),
    "kindVersion": frozenset({"kind", "version"}),
    "inclusionPromise": frozenset({"signedEntryTimestamp"}),
    "inclusionProof": frozenset({"logIndex", "rootHash", "treeSize", "hashes", "checkpoint"}),
    "checkpoint": frozenset({"envelope"}),
    "x509CertificateChain": frozenset({"certificates"}),
    "timestampVerificationData": frozenset({"rfc3161Timestamps"}),
    "rfc3161Timestamp": frozenset({"signedTimestamp"}),
    "tlogEntry": frozenset(
        {
            "logIndex",
            "logId",
            "kindVersion",
            "integratedTime",
            "inclusionPromise",
            "inclusionProof",
            "canonicalizedBody",
        }
    ),
}


def _obj(value: object, where: str, what: str, kind: str) -> dict[str, Any]:
    """A bundle object (the kit's, with the fields the bundle format allows for *kind*)."""
    return fields.obj(value, f"{what}: {where}", allowed=_FIELDS[kind], error=InvalidBundle)


def _int(value: object, where: str, what: str) -> int:
    """An integer; protobuf JSON writes int64 as a string, so a decimal string counts too."""
    return fields.integer(value, f"{what}: {where}", text=True, error=InvalidBundle)


_MAX_CHAIN = 10
_MAX_TLOG_ENTRIES = 16
_MAX_PROOF_HASHES = 64  # a Merkle tree of up to 2**64 leaves


def _check_proof(proof: dict[str, Any], what: str) -> None:
    """An inclusion proof's shape (its cryptography is the log code's)."""
    hashes = proof.get("hashes", [])
    if not isinstance(hashes, list) or len(hashes) > _MAX_PROOF_HASHES:
        raise InvalidBundle(f"{what}: inclusionProof.hashes must be a list of at most 64 hashes")
    for h in hashes:
        _unb64(h, "inclusionProof.hashes[]", what)
    _unb64(proof.get("rootHash"), "inclusionProof.rootHash", what)
    for key in ("logIndex", "treeSize"):
        _int(proof.get(key), f"inclusionProof.{key}", what)
    checkpoint = proof.get("checkpoint")
    if checkpoint is not None:
        envelope = _obj(checkpoint, "inclusionProof.checkpoint", what, "checkpoint").get("envelope")
        if not isinstance(envelope, str) or len(envelope) > 64 * 1024:
            raise InvalidBundle(f"{what}: inclusionProof.checkpoint.envelope must be a string")


def _check_timestamps(value: object, what: str) -> None:
    data = _obj(value, "timestampVerificationData", what, "timestampVerificationData")
    stamps = data.get("rfc3161Timestamps", [])
    if not isinstance(stamps, list) or len(stamps) > _MAX_TLOG_ENTRIES:
        raise InvalidBundle(f"{what}: rfc3161Timestamps must be a short list")
    for stamp in stamps:
        _unb64(
            _obj(stamp, "rfc3161Timestamps[]", what, "rfc3161Timestamp").get("signedTimestamp"),
            "rfc3161Timestamps[].signedTimestamp",
            what,
        )


def _parse_tlog(value: object, what: str) -> TlogEntry:
    entry = _obj(value, "a tlogEntries item", what, "tlogEntry")
    kv = _obj(entry.get("kindVersion"), "tlogEntries[].kindVersion", what, "kindVersion")
    kind, version = kv.get("kind"), kv.get("version")
    if not isinstance(kind, str) or not isinstance(version, str):
        raise InvalidBundle(f"{what}: tlogEntries[].kindVersion needs kind and version strings")
    log_id = _obj(entry.get("logId"), "tlogEntries[].logId", what, "logId")
    promise = entry.get("inclusionPromise")
    set_bytes = None
    if promise is not None:
        set_bytes = _unb64(
            _obj(promise, "inclusionPromise", what, "inclusionPromise").get("signedEntryTimestamp"),
            "inclusionPromise.signedEntryTimestamp",
            what,
        )
    proof = entry.get("inclusionProof")
    if proof is not None:
        _check_proof(_obj(proof, "tlogEntries[].inclusionProof", what, "inclusionProof"), what)
    return TlogEntry(
        log_index=_int(entry.get("logIndex"), "tlogEntries[].logIndex", what),
        log_id=_unb64(log_id.get("keyId"), "tlogEntries[].logId.keyId", what),
        kind=kind,
        version=version,
        integrated_time=_int(entry.get("integratedTime", "0"), "integratedTime", what),
        canonicalized_body=_unb64(
            entry.get("canonicalizedBody"), "tlogEntries[].canonicalizedBody", what
        ),
        signed_entry_timestamp=set_bytes,
        has_inclusion_proof=proof is not None,
        raw=entry,
    )


def _parse_material(material: dict[str, Any], what: str) -> tuple[str | None, bytes | None]:
    kinds = [k for k in ("publicKey", "certificate", "x509CertificateChain") if k in material]
    if len(kinds) != 1:
        raise InvalidBundle(
            f"{what}: verificationMaterial needs exactly one of publicKey, certificate, "
            f"x509CertificateChain (found {len(kinds)})"
        )
    kind = kinds[0]
    if kind == "publicKey":
        hint = _obj(material["publicKey"], "publicKey", what, "publicKey").get("hint")
        if hint is None or hint == "":
            return None, None
        if not isinstance(hint, str) or len(hint) > 256:
            raise InvalidBundle(f"{what}: publicKey.hint must be a short string")
        return hint, None
    if kind == "certificate":
        cert = _obj(material["certificate"], "certificate", what, "certificate")
        return None, _unb64(cert.get("rawBytes"), "certificate.rawBytes", what)
    chain = _obj(material[kind], "x509CertificateChain", what, kind).get("certificates")
    if not isinstance(chain, list) or not 0 < len(chain) <= _MAX_CHAIN:
        raise InvalidBundle(
            f"{what}: x509CertificateChain.certificates must list 1 to {_MAX_CHAIN} certificates"
        )
    for i, cert in enumerate(chain):
        _unb64(
            _obj(cert, f"certificates[{i}]", what, "certificate").get("rawBytes"),
            f"certificates[{i}].rawBytes",
            what,
        )
    leaf = chain[0]
    return None, _unb64(leaf.get("rawBytes"), "certificates[0].rawBytes", what)


def _parse(obj: dict[str, Any], raw: bytes, what: str) -> Bundle:
    media_type = obj.get("mediaType")
    if not isinstance(media_type, str) or media_type not in _MEDIA_TYPES:
        shown = media_type[:80] if isinstance(media_type, str) else type(media_type).__name__
        raise InvalidBundle(
            f"{what}: unsupported bundle media type {shown!r}",
            hint=f"expected {BUNDLE_MEDIA_TYPE}",
        )
    _obj(obj, "bundle", what, "bundle")
    material = _obj(
        obj.get("verificationMaterial"), "verificationMaterial", what, "verificationMaterial"
    )
    hint, certificate = _parse_material(material, what)
    entries = material.get("tlogEntries", [])
    if not isinstance(entries, list) or len(entries) > _MAX_TLOG_ENTRIES:
        raise InvalidBundle(f"{what}: tlogEntries must be a list of at most {_MAX_TLOG_ENTRIES}")
    if "timestampVerificationData" in material:
        _check_timestamps(material["timestampVerificationData"], what)
    tlog = tuple(_parse_tlog(e, what) for e in entries)
    has_msg, has_dsse = "messageSignature" in obj, "dsseEnvelope" in obj
    if has_msg == has_dsse:
        raise InvalidBundle(f"{what}: needs exactly one of messageSignature and dsseEnvelope")
    content: MessageSignature | DsseEnvelope
    if has_msg:
        msg = _obj(obj["messageSignature"], "messageSignature", what, "messageSignature")
        digest = None
        if "messageDigest" in msg:
            md = _obj(msg["messageDigest"], "messageDigest", what, "messageDigest")
            if md.get("algorithm") != "SHA2_256":
                raise InvalidBundle(f"{what}: messageDigest.algorithm must be SHA2_256")
            digest = _unb64(md.get("digest"), "messageDigest.digest", what)
            if len(digest) != 32:
                raise InvalidBundle(f"{what}: messageDigest.digest must be 32 bytes")
        content = MessageSignature(
            signature=_unb64(msg.get("signature"), "messageSignature.signature", what),
            digest=digest,
        )
    else:
        env = _obj(obj["dsseEnvelope"], "dsseEnvelope", what, "dsseEnvelope")
        sigs = env.get("signatures")
        if not isinstance(sigs, list) or len(sigs) != 1:
            raise InvalidBundle(f"{what}: dsseEnvelope.signatures must hold exactly one signature")
        sig = _obj(sigs[0], "dsseEnvelope.signatures[0]", what, "signature")
        keyid = sig.get("keyid", "")
        payload_type = env.get("payloadType")
        if not isinstance(keyid, str) or not isinstance(payload_type, str):
            raise InvalidBundle(f"{what}: dsseEnvelope payloadType and keyid must be strings")
        content = DsseEnvelope(
            payload=_unb64(env.get("payload"), "dsseEnvelope.payload", what),
            payload_type=payload_type,
            signature=_unb64(sig.get("sig"), "dsseEnvelope.signatures[0].sig", what),
            keyid=keyid,
        )
    if isinstance(content, DsseEnvelope) and certificate is None and content.keyid != (hint or ""):
        # bundle spec: with a key hint, the DSSE signature's keyid MUST be the same hint
        raise InvalidBundle(f"{what}: dsseEnvelope keyid does not match publicKey.hint")
    return Bundle(
        content=content,
        public_key_hint=hint,
        certificate=certificate,
        tlog_entries=tlog,
        media_type=media_type,
        source=raw,
    )
