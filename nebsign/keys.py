"""Signing keys: generate, save/load encrypted PKCS#8 PEM, key ids, passphrases.

* Ed25519 by default, ECDSA P-256 (``ecdsa-p256``) on request.
* Private keys are written as encrypted PKCS#8 PEM, mode 0600, atomically.
  An unencrypted key needs an explicit ``passphrase=None`` (the CLI's
  ``--no-passphrase``).
* The key id is the lowercase hex SHA-256 of the public key's DER
  SubjectPublicKeyInfo (:func:`key_id`); the same id goes into the bundle's
  ``verificationMaterial.publicKey.hint`` and into trust policies.
* Passphrases come from :func:`passphrase_from_env` (``NEBSIGN_PASSPHRASE``),
  :func:`passphrase_from_fd` or a TTY prompt (the CLI's job), never from argv.
  No error message ever contains a passphrase.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
import re
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm

# the private module holds Encoding/PublicFormat without importing the SSH and
# PKCS#12 machinery of `serialization` (~12 ms); the verify path needs only these
from cryptography.hazmat.primitives._serialization import Encoding, PublicFormat
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from nebsign.digest import sha256_bytes
from nebsign.errors import InputError

__all__ = [
    "MAX_KEY_BYTES",
    "PASSPHRASE_ENV",
    "InvalidKey",
    "KeyKind",
    "PrivateKey",
    "PublicKey",
    "WrongPassphrase",
    "generate_key",
    "key_id",
    "key_kind",
    "load_private_key",
    "load_public_key",
    "passphrase_from_env",
    "passphrase_from_fd",
    "private_key_pem",
    "public_key_der",
    "public_key_pem",
    "save_private_key",
]

MAX_KEY_BYTES = 64 * 1024
MAX_PASSPHRASE_BYTES = 4096
PASSPHRASE_ENV = "NEBSIGN_PASSPHRASE"  # noqa: S105  # nosec B105 - a variable name, not a secret

PrivateKey: TypeAlias = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


class KeyKind(enum.Enum):
    """The key algorithms nebsign signs with."""

    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa-p256"


class InvalidKey(InputError):
    """A key file is not a usable Ed25519 or P-256 key."""

    reason = "invalid-key"


class WrongPassphrase(InputError):
    """The passphrase does not decrypt the private key (or one is missing)."""

    reason = "wrong-passphrase"


def generate_key(kind: KeyKind = KeyKind.ED25519) -> PrivateKey:
    """A fresh private key of *kind* from the OS CSPRNG."""
    if kind is KeyKind.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if kind is KeyKind.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    raise InvalidKey(f"unknown key kind {kind!r}")  # pragma: no cover - enum is closed


def key_kind(key: PrivateKey | PublicKey) -> KeyKind:
    """The :class:`KeyKind` of a private or public key."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyKind.ED25519
    if isinstance(key.curve, ec.SECP256R1):
        return KeyKind.ECDSA_P256
    raise InvalidKey(f"unsupported elliptic curve {key.curve.name}; use Ed25519 or P-256")


def public_key_der(public: PublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of *public*."""
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def public_key_pem(public: PublicKey) -> bytes:
    """PEM SubjectPublicKeyInfo of *public* (what ``key generate`` writes as ``*.pub``)."""
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def key_id(public: PublicKey) -> str:
    """Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo of *public*."""
    return sha256_bytes(public_key_der(public))


def private_key_pem(private: PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM of *private*, encrypted with *passphrase* unless it is ``None``."""
    from cryptography.hazmat.primitives import serialization

    if passphrase is not None and not passphrase:
        raise WrongPassphrase("an empty passphrase is not allowed; use --no-passphrase instead")
    algorithm: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm
    )


def save_private_key(
    path: str | os.PathLike[str], private: PrivateKey, passphrase: bytes | None
) -> None:
    """Write *private* as (encrypted) PKCS#8 PEM to *path*: mode 0600, atomic, fsynced."""
    from nebsign._internal.atomic import atomic_write  # tempfile/shutil: not on the verify path

    atomic_write(path, private_key_pem(private, passphrase), mode=0o600)


def _check_public(key: object, what: str) -> PublicKey:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise InvalidKey(f"{what}: not an Ed25519 or ECDSA P-256 public key")


_PEM_RE = re.compile(
    rb"-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]{1,4096})-----END PUBLIC KEY-----\r?\n?"
)
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
_P256_SPKI = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def _fast_public_key(pem: bytes) -> PublicKey | None:
    """Ed25519 / uncompressed P-256 SPKI PEM without the generic loader; None if not that."""
    match = _PEM_RE.fullmatch(pem.strip() + b"\n")
    if match is None:
        return None
    try:
        der = base64.b64decode(match.group(1), validate=False)
    except (binascii.Error, ValueError):
        return None
    try:
        if len(der) == 44 and der.startswith(_ED25519_SPKI):
            key: PublicKey = ed25519.Ed25519PublicKey.from_public_bytes(der[12:])
        elif len(der) == 91 and der.startswith(_P256_SPKI):
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), der[26:])
        else:
            return None
    except ValueError:
        return None
    return key if public_key_der(key) == der else None


def load_public_key(pem: bytes, what: str = "public key") -> PublicKey:
    """Parse a PEM SubjectPublicKeyInfo (Ed25519 or P-256); :class:`InvalidKey` otherwise."""
    if len(pem) > MAX_KEY_BYTES:
        raise InvalidKey(f"{what}: larger than {MAX_KEY_BYTES} bytes")
    fast = _fast_public_key(pem)
    if fast is not None:
        return fast
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        hint = (
            "a private key? use `nebsign key show` for its public part"
            if b"PRIVATE" in pem
            else None
        )
        raise InvalidKey(f"{what}: not a PEM public key", hint=hint) from exc
    return _check_public(key, what)


def load_private_key(pem: bytes, passphrase: bytes | None, what: str = "private key") -> PrivateKey:
    """Parse (and decrypt) a PKCS#8 PEM private key.

    Raises :class:`WrongPassphrase` when the passphrase is missing or wrong,
    :class:`InvalidKey` when the bytes are not an Ed25519 or P-256 private key.
    The passphrase never appears in an error.
    """
    from cryptography.hazmat.primitives import serialization

    if len(pem) > MAX_KEY_BYTES:
        raise InvalidKey(f"{what}: larger than {MAX_KEY_BYTES} bytes")
    encrypted = b"ENCRYPTED" in pem
    if encrypted and passphrase is None:
        raise WrongPassphrase(
            f"{what} is encrypted and no passphrase was given",
            hint=f"set {PASSPHRASE_ENV}, pass --passphrase-fd N, or run on a terminal",
        )
    try:
        key = serialization.load_pem_private_key(pem, passphrase if encrypted else None)
    except TypeError as exc:
        raise WrongPassphrase(f"{what}: passphrase does not match this key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if encrypted:
            raise WrongPassphrase(f"{what}: wrong passphrase (or a corrupted key)") from exc
        raise InvalidKey(f"{what}: not a PEM PKCS#8 private key") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise InvalidKey(f"{what}: not an Ed25519 or ECDSA P-256 private key")


def passphrase_from_env(environ: dict[str, str] | None = None) -> bytes | None:
    """The passphrase in ``NEBSIGN_PASSPHRASE``, or ``None`` if unset."""
    env = os.environ if environ is None else environ
    value = env.get(PASSPHRASE_ENV)
    return None if value is None else value.encode("utf-8")


def passphrase_from_fd(fd: int) -> bytes:
    """Read a passphrase from file descriptor *fd* (up to the first newline, bounded).

    The descriptor is read until EOF or a newline; one trailing ``\\r\\n``/``\\n``
    is stripped. The descriptor is not closed.
    """
    chunks: list[bytes] = []
    total = 0
    try:
        while total <= MAX_PASSPHRASE_BYTES:
            chunk = os.read(fd, 512)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if b"\n" in chunk:
                break
    except OSError as exc:
        raise InputError(
            f"cannot read the passphrase from file descriptor {fd}: {exc.strerror}"
        ) from exc
    data = b"".join(chunks).split(b"\n", 1)[0].removesuffix(b"\r")
    if len(data) > MAX_PASSPHRASE_BYTES:
        raise InputError(
            f"passphrase on file descriptor {fd} is longer than {MAX_PASSPHRASE_BYTES} bytes"
        )
    if not data:
        raise WrongPassphrase(f"file descriptor {fd} gave an empty passphrase")
    return data
