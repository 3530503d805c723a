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

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from typing import Any

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
    "TOKEN_ENV",
    "BadIdentityToken",
    "KeylessSigner",
    "NoIdentityToken",
    "PaeArtifact",
    "SigstoreToken",
    "artifact_digest",
    "keyless_statement_bundle",
    "load_identity_token",
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


@contextlib.contextmanager
def _sigstore_errors() -> Iterator[None]:
    """Map sigstore's errors to nebsign's (exit 2 for a bad token, 3 for the service)."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.oidc import ExpiredIdentity

    try:
        yield
    except ExpiredIdentity as exc:
        raise InputError("the OIDC identity token has expired; get a fresh one") from exc
    except SigstoreError as exc:
        raise EnvironmentFault(f"sigstore signing failed: {_one_line(exc)}") from exc
    except OSError as exc:
        raise EnvironmentFault(f"sigstore signing failed (network?): {_one_line(exc)}") from exc
    except ValueError as exc:
        raise InputError(f"sigstore signing failed: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def sign_digest_sigstore(
    sha256_hex: str, *, staging: bool = False, identity_token: str | None = None
) -> Bundle:
    """Keyless signing through Sigstore (Fulcio certificate + Rekor entry). Needs the network.

    The OIDC token is *identity_token*, else one detected from the
    environment (e.g. GitHub Actions), else the interactive browser flow.
    """
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import Issuer

    with _sigstore_errors():
        raw = identity_token or _ambient_token()
        if raw:
            token = load_identity_token(raw)
        else:
            config = ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
            token = SigstoreToken(Issuer(config.signing_config.get_oidc_url()).identity_token())
    with KeylessSigner(token, staging=staging) as signer:
        return signer.sign_digest(sha256_hex)


class BadIdentityToken(InputError):
    """The OIDC identity token for Sigstore is malformed, expired or not for Sigstore."""

    reason = "bad-identity-token"


class NoIdentityToken(EnvironmentFault):
    """Keyless signing without an OIDC identity token (none given, none in the CI)."""

    reason = "no-identity-token"


#: the environment variable nebsign (like sigstore-python's CLI) reads the token from
TOKEN_ENV = "SIGSTORE_IDENTITY_TOKEN"  # noqa: S105  # nosec B105 -- a variable name, not a secret
#: an OIDC token is a JWT of a few KiB; anything far larger is not one
MAX_TOKEN_BYTES = 64 * 1024


class SigstoreToken:
    """An OIDC identity token checked for Sigstore (audience, claims, validity): secret,
    never printed (``repr`` shows the identity only)."""

    __slots__ = ("_token",)

    def __init__(self, token: Any) -> None:
        self._token = token

    @property
    def identity(self) -> str:
        """The identity Fulcio will certify (email, or the CI workflow's subject)."""
        return str(self._token.identity)

    @property
    def issuer(self) -> str:
        """The OIDC issuer a verifier pins (the federated one behind Sigstore's Dex)."""
        return str(self._token.federated_issuer)

    def __repr__(self) -> str:
        return f"SigstoreToken(identity={self.identity!r}, issuer={self.issuer!r})"


def _ambient_token() -> str | None:
    """A CI's ambient OIDC credential (GitHub Actions, GitLab ``SIGSTORE_ID_TOKEN``, ...)."""
    from sigstore.oidc import IdentityError, detect_credential

    try:
        return detect_credential()
    except IdentityError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "failed"
        raise NoIdentityToken(
            f"the CI's OIDC credential could not be obtained: {first[:200]}",
            hint=f"grant the job an OIDC token (GitHub: permissions id-token: write) or set "
            f"{TOKEN_ENV}",
        ) from exc


def load_identity_token(raw: str | None, *, ambient: bool = True) -> SigstoreToken:
    """The Sigstore identity token: *raw* (``$SIGSTORE_IDENTITY_TOKEN``), else the CI's
    ambient credential; checked (format, audience ``sigstore``, validity) before any use.

    Raises :class:`NoIdentityToken` (exit 3) when there is none and
    :class:`BadIdentityToken` (exit 2) when it is unusable; no message quotes the token.
    """
    from sigstore.oidc import IdentityError, IdentityToken

    source = TOKEN_ENV
    if not raw and ambient:
        raw, source = _ambient_token(), "the CI's OIDC credential"
    if not raw:
        raise NoIdentityToken(
            f"keyless signing needs an OIDC identity token: set {TOKEN_ENV}, or run in CI "
            "with OIDC (GitHub Actions: permissions id-token: write; GitLab: id_tokens "
            "SIGSTORE_ID_TOKEN with aud: sigstore)"
        )
    if len(raw) > MAX_TOKEN_BYTES or not raw.isascii():
        raise BadIdentityToken(f"{source} is not an OIDC token (a JWT)")
    try:
        return SigstoreToken(IdentityToken(raw.strip()))
    except IdentityError as exc:
        raise BadIdentityToken(
            f"{source} is not a usable Sigstore identity token: {_one_line(exc)[:150]}",
            hint="it must be an unexpired OIDC JWT with audience sigstore",
        ) from exc


def _sigstore_answer(raw: bytes) -> Bundle:
    """A bundle Sigstore returned, parsed strictly; unreadable is the service's fault (3)."""
    from nebsign.bundle import InvalidBundle

    try:
        return Bundle.from_json(raw, "sigstore bundle")
    except InvalidBundle as exc:
        raise EnvironmentFault(f"Sigstore returned a bundle nebsign cannot read: {exc}") from exc


def keyless_statement_bundle(raw: bytes, payload: bytes) -> Bundle:
    """Parse the bundle Sigstore returned for a DSSE signature and check it is what
    :func:`nebsign.verify.verify_attestation` takes for keyless: a certificate, a log
    entry, one in-toto DSSE signature over exactly *payload*."""
    bundle = _sigstore_answer(raw)
    content = bundle.content
    if not (
        isinstance(content, DsseEnvelope)
        and bundle.certificate is not None
        and bundle.tlog_entries
        and content.payload_type == IN_TOTO_PAYLOAD_TYPE
        and content.payload == payload
    ):
        raise EnvironmentFault(
            "sigstore returned a bundle that is not a keyless in-toto DSSE envelope "
            "around the statement it was given"
        )
    return bundle


class KeylessSigner:
    """Sigstore keyless signing of many digests and statements under one identity: one
    token, one Fulcio certificate (requested on ``__enter__``), one Rekor entry per
    signature. Needs the network; a context manager::

        with KeylessSigner(load_identity_token(os.environ.get(TOKEN_ENV))) as signer:
            bundle = signer.sign_statement(statement)
    """

    def __init__(self, token: SigstoreToken, *, staging: bool = False) -> None:
        self.token = token
        self.instance = "staging" if staging else "production"
        self._stack = contextlib.ExitStack()
        self._signer: Any = None

    def __enter__(self) -> KeylessSigner:
        from sigstore.models import ClientTrustConfig
        from sigstore.sign import SigningContext

        with _sigstore_errors():
            staging = self.instance == "staging"
            config = ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
            context = SigningContext.from_trust_config(config)
            self._signer = self._stack.enter_context(context.signer(self.token._token))
        return self

    def __exit__(self, *exc: object) -> None:
        self._signer = None
        self._stack.close()

    def _live(self) -> Any:
        if self._signer is None:
            raise RuntimeError("KeylessSigner is used outside its `with` block")
        return self._signer

    def sign_digest(self, sha256_hex: str) -> Bundle:
        """A keyless ``messageSignature`` bundle over an artifact's SHA-256."""
        from sigstore.hashes import Hashed
        from sigstore_models.common.v1 import HashAlgorithm

        digest = _digest_bytes(sha256_hex)
        with _sigstore_errors():
            result = self._live().sign_artifact(
                Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
            )
        return _sigstore_answer(result.to_json().encode("utf-8"))

    def sign_statement(self, statement: Statement) -> Bundle:
        """A keyless bundle with a DSSE envelope around *statement* (canonical JSON)."""
        from sigstore import dsse

        payload = statement.to_json()
        with _sigstore_errors():
            result = self._live().sign_dsse(dsse.Statement(payload))
        return keyless_statement_bundle(result.to_json().encode("utf-8"), payload)
