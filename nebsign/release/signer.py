"""Who signs a release: a private key, or Sigstore keyless under one CI identity.

The pipeline signs release.json, every attestation and the public report with one
:class:`ReleaseSigner`, then verifies the staged release against
:meth:`ReleaseSigner.trust_policy` -- the policy a host must pin:

* :class:`KeySigner`: the key's public half (deterministic bundles, ADR 0014 §7);
* :class:`SigstoreReleaseSigner`: the identity (SAN) and OIDC issuer of the Fulcio
  certificate that signed, and the Sigstore trusted root bundled with nebsign for the
  instance (production or staging), pinned by SHA-256. Every run gets a new
  certificate and new Rekor entries, so keyless bundles differ from run to run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from nebsign.errors import EnvironmentFault

if TYPE_CHECKING:
    from nebsign.attest import Statement
    from nebsign.bundle import Bundle
    from nebsign.keys import PrivateKey
    from nebsign.policy.trust import TrustPolicy
    from nebsign.signing import KeylessSigner, SigstoreToken

__all__ = ["KeySigner", "ReleaseSigner", "SigstoreReleaseSigner"]


class ReleaseSigner(Protocol):
    """Signs a release's digests and statements; says which policy verifies them."""

    #: "key" or "sigstore"
    kind: str

    def session(self) -> contextlib.AbstractContextManager[None]:
        """Open for signing (keyless: request the certificate); sign only inside it."""

    def sign_digest(self, sha256_hex: str) -> Bundle: ...

    def sign_statement(self, statement: Statement) -> Bundle: ...

    def trust_policy(self) -> TrustPolicy:
        """The trust policy that accepts exactly this signer (after something was signed)."""

    def describe(self) -> dict[str, Any]:
        """Who signs, for the output (``signer`` in ``--format json``); never a secret."""


class KeySigner:
    """Signing with a private key (Ed25519 or ECDSA P-256): deterministic bundles."""

    kind = "key"

    def __init__(self, key: PrivateKey) -> None:
        self.key = key

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        yield

    def sign_digest(self, sha256_hex: str) -> Bundle:
        from nebsign.signing import sign_digest

        return sign_digest(sha256_hex, self.key)

    def sign_statement(self, statement: Statement) -> Bundle:
        from nebsign.signing import sign_statement

        return sign_statement(statement, self.key)

    def trust_policy(self) -> TrustPolicy:
        from nebsign.policy.trust import TrustPolicy

        return TrustPolicy.from_keys([self.key.public_key()])

    def describe(self) -> dict[str, Any]:
        from nebsign.keys import key_id

        return {"kind": "key", "key_id": key_id(self.key.public_key())}


class SigstoreReleaseSigner:
    """Sigstore keyless signing with one identity token obtained once, before any step ran."""

    kind = "sigstore"

    def __init__(self, token: SigstoreToken, *, staging: bool = False) -> None:
        self.token = token
        self.instance = "staging" if staging else "production"
        self._signer: KeylessSigner | None = None
        self._identity: tuple[str, str] | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        from nebsign.signing import KeylessSigner

        with KeylessSigner(self.token, staging=self.instance == "staging") as signer:
            self._signer = signer
            try:
                yield
            finally:
                self._signer = None

    def _live(self) -> KeylessSigner:
        if self._signer is None:
            raise RuntimeError("SigstoreReleaseSigner is used outside session()")
        return self._signer

    def _note(self, bundle: Bundle) -> Bundle:
        """Record the certificate's identity; every bundle of one release must share it."""
        from cryptography import x509

        from nebsign.keyless import certificate_identity

        assert bundle.certificate is not None  # keyless bundles always carry one
        sans, issuer = certificate_identity(x509.load_der_x509_certificate(bundle.certificate))
        if len(sans) != 1 or not issuer:
            raise EnvironmentFault(
                f"the Sigstore certificate names {len(sans)} identities and issuer "
                f"{issuer or 'none'}; a release needs exactly one identity and an issuer"
            )
        found = (next(iter(sans)), issuer)
        if self._identity is not None and found != self._identity:
            raise EnvironmentFault("the Sigstore certificate changed identity during the release")
        self._identity = found
        return bundle

    def sign_digest(self, sha256_hex: str) -> Bundle:
        return self._note(self._live().sign_digest(sha256_hex))

    def sign_statement(self, statement: Statement) -> Bundle:
        return self._note(self._live().sign_statement(statement))

    @property
    def identity(self) -> tuple[str, str]:
        """(identity, issuer) of the certificate that signed."""
        if self._identity is None:
            raise RuntimeError("nothing was signed yet: the certificate's identity is unknown")
        return self._identity

    def trust_policy(self) -> TrustPolicy:
        from nebsign.policy.trust import TrustedIdentity, TrustPolicy, bundled_trusted_root

        identity, issuer = self.identity
        return TrustPolicy.from_identities(
            [TrustedIdentity(issuer, identity=identity)], bundled_trusted_root(self.instance)
        )

    def describe(self) -> dict[str, Any]:
        """Before anything was signed, the identity is the certificate's to say: None."""
        if self._identity is None:
            return {"kind": "sigstore", "identity": None, "issuer": None, "instance": self.instance}
        identity, issuer = self._identity
        return {
            "kind": "sigstore",
            "identity": identity,
            "issuer": issuer,
            "instance": self.instance,
            "host_policy": host_trust_policy(identity, issuer, self.instance),
        }


def host_trust_policy(identity: str, issuer: str, instance: str) -> str:
    """The trust policy TOML a host pins to accept a keyless release by *identity*."""
    import json

    # a JSON string is a TOML basic string (identities are URLs or emails: no control chars)
    return (
        f"version = 1\n[sigstore]\ninstance = {json.dumps(instance)}\n"
        f"[[identities]]\nidentity = {json.dumps(identity)}\nissuer = {json.dumps(issuer)}\n"
    )
