"""Who may sign: signers, trusted keys, identities and roots, signer groups, purposes.

The values a trust policy (:class:`nebsign.policy.trust.TrustPolicy`) is built from,
apart from the policy itself, so that its TOML reader
(:mod:`nebsign.policy.trust_toml`) builds them without importing the policy that
calls it. Everyone imports them from :mod:`nebsign.policy.trust`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nebsign._internal import fields
from nebsign._internal.readlimit import read_bounded
from nebsign._internal.resources import data_path
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError
from nebsign.keys import PublicKey

__all__ = [
    "ANY_PURPOSE",
    "BUNDLED_TRUSTED_ROOTS",
    "HEX_RE",
    "MAX_TRUSTED_ROOT_BYTES",
    "Evidence",
    "InvalidPolicy",
    "Purposes",
    "Signer",
    "SignerGroup",
    "ThresholdNotMet",
    "TrustedIdentity",
    "TrustedKey",
    "TrustedRoot",
    "bundled_trusted_root",
    "read_pinned",
]

MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024
HEX_RE = re.compile(r"[0-9a-f]{64}")
#: instance -> (file under policies/, pinned sha256)
BUNDLED_TRUSTED_ROOTS: dict[str, tuple[str, str]] = {
    "production": (
        "sigstore/production.trusted_root.json",
        "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66",
    ),
    "staging": (
        "sigstore/staging.trusted_root.json",
        "81f5af777952d2c3955062ad56924c05ca916b5d49f3a0bce945faa475a8b1cc",
    ),
}


class InvalidPolicy(InputError):
    """The trust policy is malformed, empty or pins a file that does not match."""

    reason = "invalid-policy"


class ThresholdNotMet(VerdictError):
    """Fewer distinct trusted signers than the policy's threshold."""

    reason = "threshold-not-met"


@dataclass(frozen=True, slots=True)
class Signer:
    """Who a verified signature is from: a key id, or a Sigstore identity + issuer."""

    key_id: str | None = None
    identity: str | None = None
    issuer: str | None = None

    def __str__(self) -> str:
        if self.key_id is not None:
            return self.key_id
        return f"{self.identity} ({self.issuer})"


@dataclass(frozen=True, slots=True)
class Evidence:
    """The distinct signers whose signatures verified, and whether each had a log entry."""

    signers: frozenset[Signer]
    logged: frozenset[Signer] = frozenset()
    failures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Purposes:
    """What a trusted signer may sign: artifacts, attestations (of some predicate types).

    ``predicate_types`` ``None`` means attestations of any type (when
    ``attestations`` is true). The default allows everything, as before
    purposes existed; ADR 0006 recommends one key per purpose.
    """

    artifacts: bool = True
    attestations: bool = True
    predicate_types: frozenset[str] | None = None

    def allows_artifacts(self) -> bool:
        """True if artifact (``messageSignature``) signatures by this signer count."""
        return self.artifacts

    def allows_attestation(self, predicate_type: str | None = None) -> bool:
        """True if attestations (of *predicate_type*, or of some type when None) count."""
        if not self.attestations:
            return False
        types = self.predicate_types
        return types is None or predicate_type is None or predicate_type in types

    def __str__(self) -> str:
        parts = ["artifacts"] if self.artifacts else []
        if self.attestations:
            types = self.predicate_types
            parts.append(
                "attestations" if types is None else f"attestations of {', '.join(sorted(types))}"
            )
        return " and ".join(parts) or "nothing"

    @classmethod
    def parse(cls, value: Any, where: str) -> Purposes:
        """``purposes = [...]``: "artifacts", "attestations", or predicate types.

        A predicate type is a short name (``sast``, ``slsa-provenance``, ...) or
        an https:// URI, and means attestations of that type only.
        """
        from nebsign.attest import NEBSIGN_PREDICATE_TYPES

        value = fields.strings(
            value,
            f"policy: {where}.purposes",
            nonempty=True,
            min_items=1,
            error=InvalidPolicy,
            expected="must be a non-empty list of strings",
        )
        artifacts = "artifacts" in value
        any_type = "attestations" in value
        types: set[str] = set()
        for item in value:
            if item in ("artifacts", "attestations"):
                continue
            uri: str = NEBSIGN_PREDICATE_TYPES.get(str(item), str(item))
            if not uri.startswith("https://") or len(uri) > 2000 or not uri.isascii():
                raise InvalidPolicy(
                    f"policy: {where}.purposes: {item[:80]!r} is not artifacts, attestations, "
                    "a predicate short name or an https:// predicate type"
                )
            types.add(uri)
        if any_type and types:
            raise InvalidPolicy(
                f"policy: {where}.purposes: give either attestations or predicate types"
            )
        return cls(artifacts, any_type or bool(types), None if any_type else frozenset(types))


#: the default: a signer may sign anything
ANY_PURPOSE = Purposes()


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key the verifier trusts, with its id, optional expiry and purposes."""

    key_id: str
    public_key: PublicKey = field(compare=False)
    not_after: datetime | None = None
    purposes: Purposes = ANY_PURPOSE


@dataclass(frozen=True, slots=True)
class TrustedIdentity:
    """A Sigstore signer: exact identity or a regex (full match), and the OIDC issuer."""

    issuer: str
    identity: str | None = None
    identity_regex: str | None = None
    purposes: Purposes = ANY_PURPOSE

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.identity_regex is None):
            raise InvalidPolicy("policy: an identity needs exactly one of identity, identity_regex")
        if self.identity_regex is not None:
            try:
                re.compile(self.identity_regex)
            except re.error as exc:
                raise InvalidPolicy(f"policy: bad identity_regex: {exc}") from exc

    def matches(self, identity: str, issuer: str) -> bool:
        """True if a certificate's (identity, issuer) is this trusted identity."""
        if issuer != self.issuer:
            return False
        if self.identity is not None:
            return identity == self.identity
        assert self.identity_regex is not None
        return re.fullmatch(self.identity_regex, identity) is not None

    def __str__(self) -> str:
        shown = self.identity if self.identity is not None else f"~/{self.identity_regex}/"
        return f"{shown} ({self.issuer})"


@dataclass(frozen=True, slots=True)
class TrustedRoot:
    """A Sigstore trusted root JSON, pinned by SHA-256 (its bytes, loaded by the loader)."""

    name: str
    sha256: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignerGroup:
    """``threshold`` distinct signers among ``keys`` and ``identities`` must have signed."""

    name: str
    keys: tuple[TrustedKey, ...]
    identities: tuple[TrustedIdentity, ...]
    threshold: int = 1
    require_tlog: bool = False
    _key_ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key_ids", frozenset(k.key_id for k in self.keys))
        if not self.keys and not self.identities:
            raise InvalidPolicy(f"policy group {self.name!r} trusts no key and no identity")
        ids = [k.key_id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise InvalidPolicy(f"policy group {self.name!r} lists a key twice")
        if not isinstance(self.threshold, int) or isinstance(self.threshold, bool):
            raise InvalidPolicy(f"policy group {self.name!r}: threshold must be an integer")
        regex = any(i.identity_regex is not None for i in self.identities)
        most = len(self.keys) + len(self.identities)
        if self.threshold < 1 or (not regex and self.threshold > most):
            raise InvalidPolicy(
                f"policy group {self.name!r}: threshold {self.threshold} must be between "
                f"1 and the {most} trusted signer(s)"
            )

    def counts(self, signer: Signer) -> bool:
        """True if *signer* is one of this group's trusted signers."""
        if signer.key_id is not None:
            return signer.key_id in self._key_ids
        assert signer.identity is not None and signer.issuer is not None
        return any(i.matches(signer.identity, signer.issuer) for i in self.identities)

    def verify(self, subject: Evidence) -> None:
        """Raise :class:`ThresholdNotMet` unless enough distinct trusted signers signed."""
        pool = subject.logged if self.require_tlog else subject.signers
        counted = [s for s in pool if self.counts(s)]
        if len(counted) >= self.threshold:
            return
        found = sorted(str(s) for s in counted)
        expected = [k.key_id for k in self.keys] + [str(i) for i in self.identities]
        detail = f"found {', '.join(found) if found else 'none'}; trusted: {', '.join(expected)}"
        if self.require_tlog:
            detail += " (only signatures with a verified transparency log entry count)"
        if subject.failures:
            detail += "; " + "; ".join(subject.failures)
        raise ThresholdNotMet(
            f"{self.name}: {len(found)} of {self.threshold} required distinct trusted "
            f"signer(s) ({detail})"
        )


def read_pinned(path: Path, sha256: str, limit: int, what: str) -> bytes:
    """Read *path* (bounded) and check it against the pinned *sha256*."""
    data = read_bounded(path, limit, what)
    found = sha256_bytes(data)
    if found != sha256:
        raise InvalidPolicy(
            f"{what} {path}: SHA-256 is {found}, the policy pins {sha256}",
            hint="the file changed since the policy was written; re-pin it only if you trust it",
        )
    return data


def bundled_trusted_root(instance: str) -> TrustedRoot:
    """The Sigstore trusted root shipped with nebsign for *instance*, checked against its pin."""
    try:
        rel, sha = BUNDLED_TRUSTED_ROOTS[instance]
    except KeyError:
        raise InvalidPolicy(
            f"unknown Sigstore instance {instance!r}; use production or staging"
        ) from None
    path = data_path("policies") / rel
    return TrustedRoot(
        f"{instance} ({rel})", sha, read_pinned(path, sha, MAX_TRUSTED_ROOT_BYTES, "trusted root")
    )
