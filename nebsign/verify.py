"""Verification core: bundle + trusted material in, verdict out. No I/O.

The key that verifies a signature is always one the policy (or ``--key``)
trusts, found by the bundle's key-id hint or, without a hint, by trying each
trusted key; a key inside a bundle is never used. Keyless (certificate)
bundles are verified offline by the sigstore library against the policy's
pinned trusted root (:mod:`nebsign.keyless`, imported only then).

Errors name what did not match, one distinct line each (exit 1):
:class:`UntrustedKey` (expected vs found key id), :class:`SignatureMismatch`,
:class:`DigestMismatch` (tampered artifact), :class:`KeyExpired`,
:class:`~nebsign.keyless.IdentityMismatch`, :class:`TlogMissing`,
:class:`~nebsign.policy.trust.ThresholdNotMet`, :class:`MissingAttestation`.
Malformed bundles are :class:`~nebsign.bundle.InvalidBundle` (exit 2).

Example::

    policy = TrustPolicy.from_keys([load_public_key(pem)])
    bundle = Bundle.from_json(raw)
    verified = verify_artifact(sha256_file(path).sha256, [bundle], policy)
    verified.signers  # ('3f1c…',) key ids / "identity (issuer)"
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

from nebsign.bundle import (
    DIGEST_MESSAGE_BYTES,
    IN_TOTO_PAYLOAD_TYPE,
    Bundle,
    DsseEnvelope,
    InvalidBundle,
    MessageSignature,
)
from nebsign.errors import InputError, VerdictError
from nebsign.keys import PublicKey
from nebsign.policy.trust import Evidence, Signer, TrustedKey, TrustPolicy

if TYPE_CHECKING:
    from nebsign.attest import Statement

__all__ = [
    "DigestMismatch",
    "KeyExpired",
    "MissingAttestation",
    "SignatureMismatch",
    "TlogMissing",
    "UntrustedKey",
    "Verified",
    "verify_artifact",
    "verify_attestation",
    "verify_attestations",
    "verify_message",
]


@functools.cache
def _ecdsa(prehashed: bool) -> ec.ECDSA:
    """The ECDSA-with-SHA-256 algorithm object (made on first use: constructing
    one imports cryptography's OpenSSL backend, ~11 ms an Ed25519 check never needs)."""
    return ec.ECDSA(utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256())


class MissingAttestation(VerdictError):
    """A predicate type the policy requires has no verified statement for the artifact."""

    reason: ClassVar[str] = "missing-attestation"


class SignatureMismatch(VerdictError):
    """The signature does not verify with the trusted key."""

    reason = "signature-mismatch"


class UntrustedKey(VerdictError):
    """The bundle names a key id the policy does not trust."""

    reason = "untrusted-key"


class DigestMismatch(VerdictError):
    """The bundle signs a different digest than the artifact's (tampered artifact)."""

    reason = "digest-mismatch"


class KeyExpired(VerdictError):
    """The trusted key's validity (``not_after``) has ended."""

    reason = "key-expired"


class TlogMissing(VerdictError):
    """The policy requires a transparency log entry and the bundle has none."""

    reason = "tlog-missing"


@dataclass(frozen=True, slots=True)
class Verified:
    """A positive verdict: the artifact digest and the distinct signers that counted."""

    sha256: str
    signers: tuple[str, ...]
    policy_digest: str = ""
    #: statements of the DSSE bundles that counted (``verify_artifact(attestations=True)``)
    statements: tuple[Statement, ...] = ()


def verify_message(public: PublicKey, signature: bytes, message: bytes, *, prehashed: bool) -> bool:
    """True if *signature* is valid for *message* (a SHA-256 digest when *prehashed*)."""
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, message)
        else:
            public.verify(signature, message, _ecdsa(prehashed))
    except InvalidSignature:
        return False
    return True


_P256_HALF_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 // 2


def _high_s(public: PublicKey, signature: bytes) -> bool:
    """True for an ECDSA signature whose s is in the upper half (ADR 0006: low-S only).

    (r, s) and (r, n - s) are both valid, so accepting both would give one
    signature two byte forms; nebsign writes and accepts the low one only.
    """
    if isinstance(public, ed25519.Ed25519PublicKey):
        return False
    try:
        _, s = utils.decode_dss_signature(signature)
    except ValueError:
        return False  # not DER: the signature check itself refuses it
    return bool(s > _P256_HALF_ORDER)


def _check_expiry(key: TrustedKey, now: datetime | None) -> None:
    if key.not_after is None:
        return
    moment = now or datetime.now(UTC)
    if moment > key.not_after:
        raise KeyExpired(
            f"expired: trusted key {key.key_id} was valid until "
            f"{key.not_after.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )


def _legacy_hint(key: TrustedKey, signature: bytes, message: bytes, prehashed: bool) -> str:
    """Why an artifact signature failed, when it is one made before ADR 0006.

    Until ADR 0006, ECDSA artifact signatures signed the artifact itself (as
    ``cosign sign-blob --key``); such a signature is never accepted, because a
    DSSE signature passes that check too, but the refusal says what it is.
    """
    if not prehashed or not isinstance(key.public_key, ec.EllipticCurvePublicKey):
        return ""
    try:
        key.public_key.verify(signature, message, _ecdsa(True))
    except InvalidSignature:
        return ""
    return (
        "; it is an ECDSA signature over the artifact itself (cosign sign-blob, or nebsign "
        "before ADR 0006), which is no longer accepted: re-sign with this nebsign"
    )


def _keyed_signer(
    bundle: Bundle,
    message: bytes,
    purpose: str,
    policy: TrustPolicy,
    now: datetime | None,
    *,
    legacy: bytes = b"",
) -> tuple[Signer, TrustedKey]:
    """Verify a public-key bundle's signature over *message* with a policy key.

    Only keys whose purposes allow *purpose* (``"artifacts"`` or
    ``"attestations"``) are candidates.
    """
    signature = (
        bundle.content.signature
        if isinstance(bundle.content, MessageSignature | DsseEnvelope)
        else b""
    )
    hint = bundle.public_key_hint
    known = policy.key(hint) if hint is not None else None
    trusted = {k: v for k, v in policy.keys.items() if _allows(v, purpose)} if known is None else {}
    if known is not None:
        if not _allows(known, purpose):
            raise UntrustedKey(
                f"wrong purpose: key {known.key_id} is trusted for {known.purposes} only, "
                f"not {purpose}"
            )
        candidates = [known]
    elif hint is not None and len(trusted) == 1 and len(hint) != 64:
        candidates = list(trusted.values())  # a foreign hint (e.g. cosign's): try the one key
    elif hint is not None:
        expected = ", ".join(sorted(trusted)) or "no key"
        raise UntrustedKey(f"wrong key: bundle was signed by key id {hint}; expected {expected}")
    else:
        candidates = list(trusted.values())
    if not candidates:
        raise UntrustedKey(
            f"bundle is signed with a public key but the policy trusts no key for {purpose}"
        )
    for key in candidates:
        if _high_s(key.public_key, signature):
            raise SignatureMismatch(
                "high-S ECDSA signature: nebsign accepts only the low-S form (s <= n/2) so that "
                "a signature has one byte form; normalize s to n - s or re-sign"
            )
        if verify_message(key.public_key, signature, message, prehashed=False):
            _check_expiry(key, now)
            return Signer(key_id=key.key_id), key
    if len(candidates) == 1:
        raise SignatureMismatch(
            f"signature does not verify with key {candidates[0].key_id} "
            "(tampered artifact, signature or bundle)"
            + _legacy_hint(candidates[0], signature, legacy, bool(legacy))
        )
    raise SignatureMismatch(
        f"signature does not verify with any of the {len(candidates)} trusted keys "
        "(tampered artifact, signature or bundle, or signed by an untrusted key)"
    )


def _allows(key: TrustedKey, purpose: str) -> bool:
    if purpose == "artifacts":
        return key.purposes.allows_artifacts()
    return key.purposes.allows_attestation()


def _check_purpose(policy: TrustPolicy, signer: Signer, purpose: str, ptype: str | None) -> None:
    """A keyless signer counts only if a trusted identity it matches allows *purpose*."""
    allowed = policy.identity_purposes(signer)
    ok = any(
        p.allows_artifacts() if ptype is None else p.allows_attestation(ptype) for p in allowed
    )
    if allowed and not ok:
        what = purpose if ptype is None else f"attestations of {ptype}"
        raise UntrustedKey(
            f"wrong purpose: {signer} is trusted for {' / '.join(map(str, allowed))} only, "
            f"not {what}"
        )


def _check_keyless_policy(policy: TrustPolicy) -> None:
    if not policy.identities:
        from nebsign.keyless import IdentityMismatch

        raise IdentityMismatch(
            "bundle is signed keyless (Sigstore certificate) but the policy trusts only keys"
        )
    if policy.trusted_root is None:
        raise InputError("bundle is keyless but the policy pins no Sigstore trusted root")


def _logged(bundle: Bundle, signer: Signer, policy: TrustPolicy) -> bool:
    """Check the bundle's log entries (when present); True if one verified."""
    if not bundle.tlog_entries:
        return False
    from nebsign.tlog import verify_tlog_entries

    verify_tlog_entries(bundle, signer, policy)
    return True


def _artifact_signer(
    sha256_hex: str, bundle: Bundle, policy: TrustPolicy, now: datetime | None
) -> tuple[Signer, bool]:
    content = bundle.content
    if not isinstance(content, MessageSignature):
        raise InvalidBundle(
            "bundle holds an attestation (DSSE), not an artifact signature",
            hint="`nebsign verify FILE --bundle B` checks that an attestation names FILE",
        )
    if bundle.certificate is not None:
        from nebsign.keyless import verify_keyless

        _check_keyless_policy(policy)
        assert policy.trusted_root is not None
        signer, _ = verify_keyless(
            bundle, policy.trusted_root, policy.identities, sha256_hex=sha256_hex
        )
        _check_purpose(policy, signer, "artifacts", None)
        return signer, True
    expected = bytes.fromhex(sha256_hex)
    if content.digest is not None and content.digest != expected:
        raise DigestMismatch(
            f"tampered artifact: its sha256:{sha256_hex} is not the signed "
            f"sha256:{content.digest.hex()}"
        )
    # The signed message is the 32 digest bytes (ADR 0006), never the artifact: a
    # DSSE PAE is always longer, so no artifact signature is an attestation signature.
    signer, _ = _keyed_signer(bundle, expected, "artifacts", policy, now, legacy=expected)
    in_log = _logged(bundle, signer, policy)
    if not in_log and policy.require_tlog:
        raise TlogMissing(f"no transparency log entry: the policy requires one (signer {signer})")
    return signer, in_log


def verify_artifact(
    sha256_hex: str,
    bundles: Sequence[Bundle],
    policy: TrustPolicy,
    *,
    now: datetime | None = None,
    attestations: bool = False,
) -> Verified:
    """Verify that *bundles* sign the artifact *sha256_hex* as *policy* demands.

    Each bundle is checked on its own; the distinct signers whose signatures
    verify (key ids, or Sigstore identity + issuer) are then judged by the
    policy's rule (thresholds, ``AllOf``/``AnyOf`` groups). With a single
    failing bundle its own error is raised (wrong key, tampered artifact, …);
    otherwise :class:`~nebsign.policy.trust.ThresholdNotMet` lists every reason.
    *now* (default: the current time) decides key expiry. With
    *attestations*, a DSSE bundle counts too when its statement names the
    artifact's digest, as ``cosign verify-blob-attestation`` checks (its
    signer must be trusted for attestations of that type); leave it off where
    only signatures of the artifact itself may count (release manifests).
    """
    if not bundles:
        raise InputError("no bundle to verify")
    sha = sha256_hex.removeprefix("sha256:")
    if len(sha) != 64 or sha.strip("0123456789abcdef"):
        raise InputError(f"not a SHA-256 hex digest: {sha256_hex[:80]!r}")
    signers: set[Signer] = set()
    logged: set[Signer] = set()
    failures: list[VerdictError] = []
    statements: list[Statement] = []
    for bundle in bundles:
        try:
            if attestations and isinstance(bundle.content, DsseEnvelope):
                signer, in_log, statement = _attestation_signer(sha, bundle, policy, now)
                statements.append(statement)
            else:
                signer, in_log = _artifact_signer(sha, bundle, policy, now)
        except VerdictError as exc:
            failures.append(exc)
            continue
        signers.add(signer)
        if in_log:
            logged.add(signer)
    if not signers and len(failures) == 1:
        raise failures[0]
    reasons = tuple(f.message for f in failures) if failures else ()
    policy.verify(Evidence(frozenset(signers), frozenset(logged), reasons))
    return Verified(sha, tuple(sorted(map(str, signers))), policy.digest, tuple(statements))


def verify_attestation(
    bundle: Bundle, policy: TrustPolicy, *, now: datetime | None = None
) -> Statement:
    """Verify a DSSE bundle's signature by one trusted signer, then parse its statement.

    The statement is parsed only after the signature verified. Thresholds
    apply to artifact signatures (:func:`verify_artifact`); an attestation
    needs one signer the policy trusts (any group), and a log entry when the
    policy requires one. Raises ``VerdictError`` subclasses, or
    :class:`~nebsign.attest.InvalidStatement` for a verified but malformed payload.
    """
    return _attested(bundle, policy, now)[2]


def _attested(
    bundle: Bundle, policy: TrustPolicy, now: datetime | None
) -> tuple[Signer, bool, Statement]:
    """(signer, whether a log entry verified, statement) of a DSSE bundle; see above."""
    from nebsign.attest import Statement

    content = bundle.content
    if not isinstance(content, DsseEnvelope):
        raise InvalidBundle("bundle holds an artifact signature, not an attestation (DSSE)")
    if bundle.certificate is not None:
        from nebsign.keyless import verify_keyless

        _check_keyless_policy(policy)
        assert policy.trusted_root is not None
        signer, payload = verify_keyless(
            bundle, policy.trusted_root, policy.identities, sha256_hex=None
        )
        assert payload is not None
        statement = Statement.from_json(payload, "attestation statement")
        _check_purpose(policy, signer, "attestations", statement.predicate_type)
        return signer, True, statement
    if content.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise SignatureMismatch(f"DSSE payload type {content.payload_type[:80]!r} is not in-toto")
    message = content.pae()
    if len(message) <= DIGEST_MESSAGE_BYTES:  # pragma: no cover - a PAE is always longer
        raise SignatureMismatch("a DSSE message no longer than a digest is refused (ADR 0006)")
    signer, key = _keyed_signer(bundle, message, "attestations", policy, now)
    in_log = _logged(bundle, signer, policy)
    if policy.require_tlog and not in_log:
        raise TlogMissing("the policy requires a transparency log entry; the attestation has none")
    statement = Statement.from_json(content.payload, "attestation statement")
    if not key.purposes.allows_attestation(statement.predicate_type):
        raise UntrustedKey(
            f"wrong purpose: key {key.key_id} is trusted for {key.purposes} only, "
            f"not attestations of {statement.predicate_type}"
        )
    return signer, in_log, statement


def _attestation_signer(
    sha256_hex: str, bundle: Bundle, policy: TrustPolicy, now: datetime | None
) -> tuple[Signer, bool, Statement]:
    """A DSSE bundle as evidence about an artifact (``cosign verify-blob-attestation``):
    its signature verifies and its statement names the artifact's digest."""
    signer, in_log, statement = _attested(bundle, policy, now)
    if not statement.covers(sha256_hex):
        names = ", ".join(f"sha256:{s.sha256}" for s in statement.subjects[:3])
        raise DigestMismatch(
            f"tampered artifact: its sha256:{sha256_hex} is not a subject of the "
            f"{statement.predicate_type} attestation ({names})"
        )
    return signer, in_log, statement


def verify_attestations(
    sha256_hex: str,
    bundles: Sequence[Bundle],
    policy: TrustPolicy,
    *,
    now: datetime | None = None,
) -> tuple[Statement, ...]:
    """Verify every attestation bundle and check the policy's required predicate types.

    Each required predicate type must have a verified statement whose
    subjects include *sha256_hex*; :class:`MissingAttestation` otherwise.
    Any bundle that fails verification fails the whole call.
    """
    sha = sha256_hex.removeprefix("sha256:")
    statements = tuple(verify_attestation(b, policy, now=now) for b in bundles)
    present = {s.predicate_type for s in statements if s.covers(sha)}
    missing = [p for p in policy.required_predicates if p not in present]
    if missing:
        raise MissingAttestation(
            f"missing attestation for sha256:{sha}: no verified {', '.join(missing)}"
        )
    return statements
