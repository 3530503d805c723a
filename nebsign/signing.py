"""Signers: key-based (Ed25519, ECDSA P-256) and Sigstore keyless (lazy import).

What is signed (ADR 0002):

* ``messageSignature`` (artifacts, manifests): the artifact's SHA-256.
  ECDSA P-256 signs it as ECDSA-SHA256 over the artifact, i.e. prehashed over
  the digest, exactly what ``cosign sign-blob --key`` does.
  Ed25519 signs the 32 raw digest bytes with pure Ed25519 (``openssl pkeyutl
  -sign -rawin`` over the digest file gives the same signature): a verifier
  needs only the digest, never the artifact. (cosign signs the whole blob with
  pure Ed25519 instead; its bundles still parse, but verify only by digest.)
* ``dsseEnvelope`` (attestations): the DSSE v1 PAE of the in-toto Statement,
  pure Ed25519 or ECDSA-SHA256.

ECDSA signatures are deterministic (RFC 6979), so the same key and input give
byte-identical bundles.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

from nebsign.attest import Statement
from nebsign.bundle import IN_TOTO_PAYLOAD_TYPE, Bundle, DsseEnvelope, MessageSignature, pae
from nebsign.digest import parse_digest
from nebsign.errors import EnvironmentFault, InputError
from nebsign.keys import PrivateKey, key_id

__all__ = [
    "sign_digest",
    "sign_digest_sigstore",
    "sign_message",
    "sign_statement",
]


def _digest_bytes(sha256_hex: str) -> bytes:
    return bytes.fromhex(parse_digest(sha256_hex if ":" in sha256_hex else f"sha256:{sha256_hex}"))


def sign_message(private_key: PrivateKey, message: bytes, *, prehashed: bool = False) -> bytes:
    """Raw signature over *message* (a SHA-256 digest when *prehashed*).

    Ed25519 always signs *message* itself; ECDSA P-256 signs SHA-256(message),
    or *message* as that digest when *prehashed*.
    """
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    algorithm = utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
    return private_key.sign(message, ec.ECDSA(algorithm, deterministic_signing=True))


def sign_digest(sha256_hex: str, private_key: PrivateKey) -> Bundle:
    """A key-based bundle with a ``messageSignature`` over an artifact's SHA-256.

    *sha256_hex* is the lowercase hex digest (``sha256:`` prefix allowed),
    e.g. :func:`nebsign.digest.sha256_file` ``(...).sha256`` or
    :meth:`nebsign.manifest.Manifest.digest`. The bundle's
    ``publicKey.hint`` is the signer's :func:`nebsign.keys.key_id`.
    """
    digest = _digest_bytes(sha256_hex)
    signature = sign_message(private_key, digest, prehashed=True)
    return Bundle(
        content=MessageSignature(signature=signature, digest=digest),
        public_key_hint=key_id(private_key.public_key()),
    )


def sign_statement(statement: Statement, private_key: PrivateKey) -> Bundle:
    """A key-based bundle with a DSSE envelope around *statement* (canonical JSON)."""
    payload = statement.to_json()
    signature = sign_message(private_key, pae(IN_TOTO_PAYLOAD_TYPE, payload))
    kid = key_id(private_key.public_key())
    return Bundle(
        content=DsseEnvelope(
            payload=payload, payload_type=IN_TOTO_PAYLOAD_TYPE, signature=signature, keyid=kid
        ),
        public_key_hint=kid,
    )


def sign_digest_sigstore(
    sha256_hex: str, *, staging: bool = False, identity_token: str | None = None
) -> Bundle:
    """Keyless signing through Sigstore (Fulcio certificate + Rekor entry). Needs the network.

    The OIDC token is *identity_token*, else one detected from the
    environment (e.g. GitHub Actions), else the interactive browser flow.
    """
    try:
        from sigstore.errors import Error as SigstoreError
        from sigstore.hashes import Hashed
        from sigstore.models import ClientTrustConfig
        from sigstore.oidc import ExpiredIdentity, IdentityToken, Issuer, detect_credential
        from sigstore.sign import SigningContext
        from sigstore_models.common.v1 import HashAlgorithm
    except ImportError as exc:  # pragma: no cover - sigstore is a dependency
        raise EnvironmentFault("the sigstore library is not installed") from exc
    digest = _digest_bytes(sha256_hex)
    try:
        config = ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
        context = SigningContext.from_trust_config(config)
        raw_token = identity_token or detect_credential()
        token = (
            IdentityToken(raw_token)
            if raw_token
            else Issuer(config.signing_config.get_oidc_url()).identity_token()
        )
        with context.signer(token) as signer:
            result = signer.sign_artifact(Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest))
        raw = result.to_json().encode("utf-8")
    except ExpiredIdentity as exc:
        raise InputError("the OIDC identity token has expired; get a fresh one") from exc
    except SigstoreError as exc:
        raise EnvironmentFault(f"sigstore signing failed: {exc}") from exc
    except OSError as exc:
        raise EnvironmentFault(f"sigstore signing failed (network?): {exc}") from exc
    except ValueError as exc:
        raise InputError(f"sigstore signing failed: {exc}") from exc
    return Bundle.from_json(raw, "sigstore bundle")
