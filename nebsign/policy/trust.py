"""Trust policies: who may sign, how many must, what must be attested.

A trust policy is TOML (``policies/trust-example.toml``)::

    version = 1
    threshold = 1                      # distinct trusted signers needed
    require_tlog = false               # true: every counted signature needs a log entry
    required_predicates = ["https://nebsign.dev/attestation/sast/v1"]

    [[keys]]                           # by id + inline PEM ...
    id = "<hex sha256 of DER SubjectPublicKeyInfo>"
    pem = '''-----BEGIN PUBLIC KEY----- ...'''
    not_after = "2027-01-01T00:00:00Z" # optional: refused after this instant
    purposes = ["artifacts"]           # optional: what this key may sign (default: all)

    [[keys]]                           # ... or by file, pinned by SHA-256
    path = "keys/release.pub"
    sha256 = "<hex sha256 of the file>"

    [[identities]]                     # Sigstore keyless signers
    identity = "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.4.2"
    # identity_regex = "^https://github.com/org/repo/\\.github/workflows/release\\.yml@refs/tags/v"
    issuer = "https://token.actions.githubusercontent.com"

    [sigstore]                         # trusted root for keyless, pinned
    trusted_root = "sigstore/production.trusted_root.json"
    sha256 = "<hex>"
    # or: instance = "production" | "staging" (the roots bundled with nebsign)

Instead of top-level ``keys``/``identities``/``threshold``, a policy may list
groups as ``[[all_of]]`` (every group must be satisfied) or ``[[any_of]]``
(one group suffices); each group has ``name``, ``threshold``, ``keys``,
``identities``. Groups compose with :class:`nebsign.policy.AllOf` /
:class:`~nebsign.policy.AnyOf`. A policy that trusts nobody is an error.

:meth:`TrustPolicy.from_toml` is the loader layer: it reads the files a
policy pins (relative to ``base_dir``) and checks their SHA-256. Everything
after that (:mod:`nebsign.verify`) is bytes in, verdict out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nebsign.errors import InputError
from nebsign.keys import PublicKey, key_id
from nebsign.policy.signers import (
    ANY_PURPOSE,
    BUNDLED_TRUSTED_ROOTS,
    Evidence,
    InvalidPolicy,
    Purposes,
    Signer,
    SignerGroup,
    ThresholdNotMet,
    TrustedIdentity,
    TrustedKey,
    TrustedRoot,
    bundled_trusted_root,
)

if TYPE_CHECKING:
    from nebsign.policy import Policy

__all__ = [
    "ANY_PURPOSE",
    "BUNDLED_TRUSTED_ROOTS",
    "Evidence",
    "InvalidPolicy",
    "Purposes",
    "Signer",
    "SignerGroup",
    "ThresholdNotMet",
    "TrustPolicy",
    "TrustedIdentity",
    "TrustedKey",
    "TrustedRoot",
    "bundled_trusted_root",
]


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """A parsed trust policy: a composed signer rule plus attestation requirements."""

    rule: Policy[Evidence]
    groups: tuple[SignerGroup, ...]
    required_predicates: tuple[str, ...] = ()
    trusted_root: TrustedRoot | None = None
    digest: str = ""
    _by_id: dict[str, TrustedKey] = field(init=False, repr=False, compare=False)
    _require_tlog: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.groups:
            raise InvalidPolicy("policy trusts no signer: an empty policy would pass nothing")
        by_id: dict[str, TrustedKey] = {}
        for key in (k for g in self.groups for k in g.keys):
            if by_id.setdefault(key.key_id, key) != key:
                raise InvalidPolicy(
                    f"policy: key {key.key_id} is listed with different expiries or purposes"
                )
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_require_tlog", any(g.require_tlog for g in self.groups))

    @property
    def keys(self) -> dict[str, TrustedKey]:
        """Every trusted key of every group, by key id (a copy)."""
        return dict(self._by_id)

    def key(self, key_id: str) -> TrustedKey | None:
        """The trusted key with *key_id*, if any."""
        return self._by_id.get(key_id)

    @property
    def require_tlog(self) -> bool:
        """True if any group requires a transparency log entry."""
        return self._require_tlog

    @property
    def identities(self) -> tuple[TrustedIdentity, ...]:
        """Every trusted Sigstore identity of every group."""
        return tuple(i for g in self.groups for i in g.identities)

    def identity_purposes(self, signer: Signer) -> list[Purposes]:
        """The purposes of every trusted identity that *signer* (keyless) matches."""
        if signer.identity is None or signer.issuer is None:
            return []
        return [i.purposes for i in self.identities if i.matches(signer.identity, signer.issuer)]

    def verify(self, subject: Evidence) -> None:
        """Apply the composed signer rule to *subject*."""
        self.rule.verify(subject)

    @classmethod
    def from_keys(
        cls, keys: Iterable[PublicKey], *, threshold: int = 1, require_tlog: bool = False
    ) -> TrustPolicy:
        """A one-group policy trusting *keys* (the CLI's ``--key``)."""
        trusted = tuple(TrustedKey(key_id(k), k) for k in keys)
        group = SignerGroup("--key", trusted, (), threshold, require_tlog)
        return cls(rule=group, groups=(group,))

    @classmethod
    def from_identities(
        cls,
        identities: Iterable[TrustedIdentity],
        trusted_root: TrustedRoot,
        *,
        threshold: int = 1,
    ) -> TrustPolicy:
        """A one-group policy trusting Sigstore *identities* (``--identity/--issuer``)."""
        group = SignerGroup("--identity", (), tuple(identities), threshold)
        return cls(rule=group, groups=(group,), trusted_root=trusted_root)

    @classmethod
    def from_toml(
        cls, raw: bytes, base_dir: str | Path | None = None, what: str = "policy"
    ) -> TrustPolicy:
        """Parse a trust policy; files it pins are read relative to *base_dir* and checked."""
        from nebsign.policy import load_toml, policy_digest  # tomllib: only when parsing TOML
        from nebsign.policy.trust_toml import parse_policy

        try:
            rule, groups, predicates, root = parse_policy(
                load_toml(raw, what), Path(base_dir or "."), what
            )
        except InvalidPolicy:
            raise
        except InputError as exc:
            raise InvalidPolicy(exc.message, hint=exc.hint) from exc
        return cls(rule, groups, predicates, root, policy_digest(raw))
