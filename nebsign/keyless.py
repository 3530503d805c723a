"""Offline verification of Sigstore keyless bundles, delegated to the sigstore library.

Imported only when a bundle carries a certificate or a transparency log
entry, so key-based verification never pays for sigstore (ADR 0002). The
trusted root comes from the trust policy (a pinned file), never from the
writable per-user TUF cache, and nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nebsign.bundle import Bundle, InvalidBundle
from nebsign.errors import InputError, VerdictError
from nebsign.policy.trust import Signer, TrustedIdentity, TrustedRoot

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

__all__ = ["IdentityMismatch", "KeylessVerificationFailed", "short_error", "verify_keyless"]

_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_OTHERNAME_OID = "1.3.6.1.4.1.57264.1.7"


class KeylessVerificationFailed(VerdictError):
    """The Sigstore bundle did not verify (certificate chain, log entry, signature)."""

    reason = "keyless-verification-failed"


class IdentityMismatch(VerdictError):
    """The certificate's identity or issuer is not one the policy trusts."""

    reason = "identity-mismatch"


def _der_utf8(value: bytes) -> str:
    # DER UTF8String: tag 0x0c, short or long form length
    if len(value) < 2 or value[0] != 0x0C:
        return value.decode("utf-8", "replace")
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(value[2 : 2 + count], "big"), 2 + count
    return value[offset : offset + length].decode("utf-8", "replace")


def certificate_identity(cert: Certificate) -> tuple[frozenset[str], str]:
    """(every SAN identity, OIDC issuer) of a Fulcio certificate."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans: set[str] = set()
    else:
        sans = set(san.get_values_for_type(x509.RFC822Name))
        sans.update(san.get_values_for_type(x509.UniformResourceIdentifier))
        sans.update(
            on.value.decode("utf-8", "replace")
            for on in san.get_values_for_type(x509.OtherName)
            if on.type_id.dotted_string == _OTHERNAME_OID
        )
    issuer = ""
    for oid, decode in ((_ISSUER_V2, _der_utf8), (_ISSUER_V1, bytes.decode)):
        try:
            ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value
        except x509.ExtensionNotFound:
            continue
        raw = getattr(ext, "value", b"")
        if isinstance(raw, bytes):
            issuer = decode(raw)
            break
    return frozenset(sans), issuer


class _IdentityPolicy:
    """A sigstore VerificationPolicy that accepts any trusted identity and records which."""

    def __init__(self, identities: Sequence[TrustedIdentity]) -> None:
        self.identities = identities
        self.signer: Signer | None = None
        self.mismatch: str | None = None

    def verify(self, cert: Certificate) -> None:
        from sigstore.errors import VerificationError

        sans, issuer = certificate_identity(cert)
        for trusted in self.identities:
            for name in sorted(sans):
                if trusted.matches(name, issuer):
                    self.signer = Signer(identity=name, issuer=issuer)
                    return
        expected = ", ".join(str(i) for i in self.identities)
        self.mismatch = (
            f"wrong identity: certificate is for {', '.join(sorted(sans)) or 'no identity'} "
            f"(issuer {issuer or 'none'}); policy expects {expected}"
        )
        raise VerificationError(self.mismatch)


def short_error(exc: BaseException) -> str:
    """One short line for an error from sigstore or its pydantic models (not a long dump)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            count = len(errors())
            more = f" (and {count - 1} more)" if count > 1 else ""
            return f"{where or 'document'}: {first.get('msg', 'invalid')}{more}"[:200]
        except (TypeError, IndexError, AttributeError, KeyError):
            pass
    return " ".join(str(exc).split())[:200]


def _closed_interval_verifier(base: type) -> type:
    """sigstore's Verifier, but a timestamp exactly at the end of a TSA's validity
    period counts as inside it (closed interval, as for the Rekor keys and
    certificates; sigstore 4.x uses ``start <= t < end`` for TSAs only)."""
    from rfc3161_client import VerificationError as Rfc3161VerificationError
    from rfc3161_client import VerifierBuilder
    from sigstore._internal.timestamp import TimestampSource, TimestampVerificationResult

    class ClosedIntervalVerifier(base):  # type: ignore[misc]
        def _verify_signed_timestamp(self, timestamp_response: Any, message: bytes) -> Any:
            for authority in self._trusted_root.get_timestamp_authorities():
                certificates = authority.certificates(allow_expired=True)
                if len(certificates) < 2:
                    continue
                builder = (
                    VerifierBuilder()
                    .tsa_certificate(certificates[0])
                    .add_root_certificate(certificates[-1])
                )
                for certificate in certificates[1:-1]:
                    builder = builder.add_intermediate_certificate(certificate)
                try:
                    builder.build().verify_message(timestamp_response, message)
                except Rfc3161VerificationError:
                    continue
                when = timestamp_response.tst_info.gen_time
                end = authority.validity_period_end
                if authority.validity_period_start <= when and (end is None or when <= end):
                    return TimestampVerificationResult(
                        source=TimestampSource.TIMESTAMP_AUTHORITY, time=when
                    )
            return None

    return ClosedIntervalVerifier


def _other_instance(
    bundle: Bundle,
    trusted_root: TrustedRoot,
    identities: Sequence[TrustedIdentity],
    sha: str | None,
) -> str | None:
    """When a bundle fails against one bundled root, the name of the bundled instance it
    verifies against instead (so the error can say "add --staging"), else None."""
    from nebsign.policy.trust import BUNDLED_TRUSTED_ROOTS, bundled_trusted_root

    pins = {sha256: name for name, (_, sha256) in BUNDLED_TRUSTED_ROOTS.items()}
    current = pins.get(trusted_root.sha256)
    if current is None:
        return None
    for other in BUNDLED_TRUSTED_ROOTS:
        if other == current:
            continue
        try:
            verify_keyless(
                bundle, bundled_trusted_root(other), identities, sha256_hex=sha, _probe=True
            )
        except IdentityMismatch:
            return other  # the chain and log verified there: the instance is right
        except (VerdictError, InputError):
            continue
        return other
    return None


def _load(bundle: Bundle, trusted_root: TrustedRoot) -> tuple[Any, Any]:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.models import TrustedRoot as SigstoreTrustedRoot
    from sigstore.verify import Verifier
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        root = SigstoreTrustedRoot(trustroot_v1.TrustedRoot.from_json(trusted_root.data))
        verifier = _closed_interval_verifier(Verifier)(trusted_root=root)
    except (SigstoreError, ValueError) as exc:
        raise InputError(
            f"trusted root {trusted_root.name} is not usable: {short_error(exc)}",
            hint="pass a Sigstore trusted_root.json (as `cosign` or `sigstore` use)",
        ) from exc
    try:
        parsed = SigstoreBundle.from_json(bundle.source or bundle.to_json())
    except (SigstoreError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise InvalidBundle(
            f"sigstore bundle rejected: {' '.join(str(exc).split())[:300]}"
        ) from exc
    return verifier, parsed


def verify_keyless(
    bundle: Bundle,
    trusted_root: TrustedRoot,
    identities: Sequence[TrustedIdentity],
    *,
    sha256_hex: str | None,
    _probe: bool = False,
) -> tuple[Signer, bytes | None]:
    """Verify a keyless bundle offline; return (signer, DSSE payload or None).

    With *sha256_hex* the bundle must hold a message signature over that
    digest; without it, a DSSE envelope (its in-toto payload is returned).
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.errors import VerificationError
    from sigstore.hashes import Hashed
    from sigstore_models.common.v1 import HashAlgorithm

    if not identities:
        raise IdentityMismatch(
            "bundle is signed keyless (Sigstore) but the policy trusts no identity"
        )
    verifier, parsed = _load(bundle, trusted_root)
    policy = _IdentityPolicy(identities)
    payload: bytes | None = None
    try:
        if sha256_hex is not None:
            digest = bytes.fromhex(sha256_hex)
            verifier.verify_artifact(
                Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest), parsed, policy
            )
        else:
            payload_type, payload = verifier.verify_dsse(parsed, policy)
            if payload_type != "application/vnd.in-toto+json":
                raise KeylessVerificationFailed(
                    f"DSSE payload type {payload_type!r} is not in-toto"
                )
    except VerificationError as exc:
        if policy.mismatch is not None:
            raise IdentityMismatch(policy.mismatch) from exc
        text = " ".join(str(exc).split())[:300]
        if "Signature is invalid for input" in text or "digest mismatch" in text.lower():
            raise KeylessVerificationFailed(
                "tampered artifact or signature: the Sigstore signature does not match "
                f"sha256:{sha256_hex}"
            ) from exc
        other = None if _probe else _other_instance(bundle, trusted_root, identities, sha256_hex)
        if other is not None:
            flag = "add --staging" if other == "staging" else "drop --staging"
            raise KeylessVerificationFailed(
                f"bundle was signed by the Sigstore {other} instance, not the one verified "
                f"against ({trusted_root.name}); {flag} (or pin the {other} root in the policy)"
            ) from exc
        raise KeylessVerificationFailed(f"Sigstore verification failed: {text}") from exc
    except SigstoreError as exc:
        raise KeylessVerificationFailed(f"Sigstore verification failed: {exc}") from exc
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        # sigstore decodes log entries and checkpoints (not signed data: anyone can
        # edit them) with plain base64/str calls; "Incorrect padding" is a refusal
        text = " ".join(str(exc).split())[:200]
        raise KeylessVerificationFailed(
            f"Sigstore verification failed: malformed log entry or checkpoint ({text})"
        ) from exc
    if policy.signer is None:  # pragma: no cover - sigstore always consults the policy
        raise KeylessVerificationFailed("Sigstore verification did not check the identity")
    return policy.signer, payload
