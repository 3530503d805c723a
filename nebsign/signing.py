"""Signers: key-based (Ed25519, ECDSA P-256) and Sigstore keyless (lazy import).

What is signed (ADR 0002):

* ``messageSignature`` (artifacts, manifests): the 32 raw bytes of the
  artifact's SHA-256, as the signed *message*, for both key kinds: pure
  Ed25519 over them (``openssl pkeyutl -sign -rawin`` over the digest file
  gives the same signature), ECDSA-SHA256 over them (``openssl dgst -sha256
  -sign`` of the digest file). A verifier needs only the digest.
* ``dsseEnvelope`` (attestations): the DSSE v1 PAE of the in-toto Statement,
  pure Ed25519 or ECDSA-SHA256.

The two are domain-separated (ADR 0006): an artifact signature signs a
32-byte message and a PAE is always longer, so no signature can be valid as
both. (Until ADR 0006, ECDSA signed the artifact itself, as ``cosign
sign-blob --key`` does, and an artifact whose bytes were a PAE gave a valid
attestation signature.) The signer also refuses artifacts that begin with the
PAE prefix (:func:`artifact_digest`), so nothing that looks like a DSSE
message is ever signed as an artifact.

ECDSA signatures are deterministic (RFC 6979), so the same key and input give
byte-identical bundles.
"""

from __future__ import annotations

import hashlib
import os
import stat

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

from nebsign.attest import Statement
from nebsign.bundle import (
    DIGEST_MESSAGE_BYTES,
    IN_TOTO_PAYLOAD_TYPE,
    Bundle,
    DsseEnvelope,
    MessageSignature,
    pae,
)
from nebsign.digest import FileDigest, parse_digest
from nebsign.errors import EnvironmentFault, InputError
from nebsign.keys import PrivateKey, key_id

__all__ = [
    "PAE_PREFIX",
    "PaeArtifact",
    "artifact_digest",
    "sign_digest",
    "sign_digest_sigstore",
    "sign_message",
    "sign_statement",
]


#: the order n of the P-256 group (an ECDSA signature (r, s) is valid as (r, n - s) too)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
#: what every DSSE v1 pre-authentication encoding begins with
PAE_PREFIX = b"DSSEv1 "
_CHUNK = 1024 * 1024


class PaeArtifact(InputError):
    """An artifact to sign begins with the DSSE PAE prefix: refused (ADR 0006)."""

    reason = "pae-artifact"


def artifact_digest(path: str | os.PathLike[str]) -> FileDigest:
    """Size and SHA-256 of the artifact at *path*, refusing one that looks like a DSSE message.

    The first bytes are checked in the same pass that hashes them (one open,
    no symlink followed), so what is checked is what is signed. An artifact
    beginning with ``DSSEv1 `` raises :class:`PaeArtifact`: signing it would
    put the key's signature on bytes a DSSE verifier reads as an attestation.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise InputError(f"cannot sign {name}: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"cannot sign {name}: not a regular file")
        hasher, size, head, buf = hashlib.sha256(), 0, b"", bytearray(_CHUNK)
        view = memoryview(buf)
        while n := os.readv(fd, [buf]):
            if len(head) < len(PAE_PREFIX):
                head += bytes(view[: min(n, len(PAE_PREFIX) - len(head))])
                if head == PAE_PREFIX:
                    raise PaeArtifact(
                        f"refusing to sign {name}: it begins with the DSSE prefix "
                        f"{PAE_PREFIX.decode()!r}, so its signature could pass for an attestation",
                        hint="sign a container of it (e.g. a tarball), never raw DSSE bytes",
                    )
            hasher.update(view[:n])
            size += n
    except OSError as exc:
        raise InputError(f"cannot sign {name}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return FileDigest(size, hasher.hexdigest())


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
    der = private_key.sign(message, ec.ECDSA(algorithm, deterministic_signing=True))
    r, s = utils.decode_dss_signature(der)
    if s > P256_ORDER // 2:  # low-S only (ADR 0006): one signature, one byte form
        der = utils.encode_dss_signature(r, P256_ORDER - s)
    return der


def sign_digest(sha256_hex: str, private_key: PrivateKey) -> Bundle:
    """A key-based bundle with a ``messageSignature`` over an artifact's SHA-256.

    *sha256_hex* is the lowercase hex digest (``sha256:`` prefix allowed),
    e.g. :func:`nebsign.digest.sha256_file` ``(...).sha256`` or
    :meth:`nebsign.manifest.Manifest.digest`. The bundle's
    ``publicKey.hint`` is the signer's :func:`nebsign.keys.key_id`.
    """
    digest = _digest_bytes(sha256_hex)
    signature = sign_message(private_key, digest)
    return Bundle(
        content=MessageSignature(signature=signature, digest=digest),
        public_key_hint=key_id(private_key.public_key()),
    )


def sign_statement(statement: Statement, private_key: PrivateKey) -> Bundle:
    """A key-based bundle with a DSSE envelope around *statement* (canonical JSON)."""
    payload = statement.to_json()
    message = pae(IN_TOTO_PAYLOAD_TYPE, payload)
    if len(message) <= DIGEST_MESSAGE_BYTES:  # pragma: no cover - a PAE is always longer
        raise InputError("refusing a DSSE message no longer than an artifact digest")
    signature = sign_message(private_key, message)
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
