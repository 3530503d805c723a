"""One way from what a user names (key files, a Sigstore identity, a policy file) to a trust policy.

Every command that verifies takes the same trust input: public key files, or a
Sigstore identity with its OIDC issuer (and a trusted root: the bundled
production one, ``staging``, or a file), or a trust policy TOML that carries all
of that itself. :func:`load_trust_policy` turns that input into a
:class:`~nebsign.policy.trust.TrustPolicy`, reading each file bounded; the
CLI's shared option decorator (``cli/_trustopts.py``) only collects the flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nebsign._internal.readlimit import read_bounded
from nebsign.errors import InputError, NebsignError
from nebsign.policy import MAX_POLICY_BYTES

if TYPE_CHECKING:
    from nebsign.policy.trust import TrustedRoot, TrustPolicy

__all__ = ["TrustInput", "load_trust_policy"]

# The signing stack (cryptography, the trust model: ~40 ms of imports) is
# imported inside the functions, so a command pays for it only when it verifies.


@dataclass(frozen=True, slots=True)
class TrustInput:
    """Who the user trusts, as named: files and identities, not yet read."""

    policy_file: str | None = None
    keys: tuple[str, ...] = ()
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    trusted_root: str | None = None
    staging: bool = False
    threshold: int = 1
    #: how the user spelled the key and policy options (named in error messages)
    key_flag: str = "--key"
    policy_flag: str = "--policy"

    @property
    def signers_named(self) -> bool:
        """True if keys or an identity were named (as opposed to a policy file)."""
        return bool(self.keys or self.identity or self.identity_regexp or self.issuer)

    @property
    def given(self) -> bool:
        """True if any trust input was given at all."""
        return self.policy_file is not None or self.signers_named


def load_trust_policy(trust: TrustInput, *, threshold_applies: bool = True) -> TrustPolicy:
    """The trust policy *trust* names; an :class:`InputError` for contradictory or no input.

    A caller that verifies only attestations (one trusted signer each: thresholds
    apply to artifact and manifest signatures) passes ``threshold_applies=False``,
    so a ``--threshold`` that would silently do nothing is refused instead.
    """
    from nebsign.keys import MAX_KEY_BYTES, key_id, load_public_key
    from nebsign.policy.trust import SignerGroup, TrustedIdentity, TrustedKey, TrustPolicy

    if trust.threshold != 1 and not threshold_applies:
        raise InputError(
            "--threshold applies to artifact and manifest signatures; "
            "an attestation needs one trusted signer"
        )
    if trust.policy_file is not None:
        if trust.signers_named or trust.trusted_root or trust.staging:
            raise InputError(
                f"{trust.policy_flag} carries its own signers and root; "
                f"drop {trust.key_flag}/--identity"
            )
        if trust.threshold != 1:
            raise InputError(
                f"--threshold applies to {trust.key_flag}; a policy sets its own threshold"
            )
        raw = read_bounded(trust.policy_file, MAX_POLICY_BYTES, "policy")
        return TrustPolicy.from_toml(
            raw, Path(trust.policy_file).parent, f"policy {trust.policy_file}"
        )
    if not trust.signers_named:
        raise InputError(
            "no trusted signer given",
            hint=f"pass {trust.key_flag} PUB, --identity ID --issuer URL, "
            f"or {trust.policy_flag} FILE",
        )
    if (trust.identity or trust.identity_regexp) and not trust.issuer:
        raise InputError("--identity needs --issuer (the OIDC issuer URL)")
    if trust.issuer and not (trust.identity or trust.identity_regexp):
        raise InputError("--issuer needs --identity or --identity-regexp")
    trusted = []
    for path in trust.keys:
        public = load_public_key(read_bounded(path, MAX_KEY_BYTES, "public key"), f"key {path}")
        trusted.append(TrustedKey(key_id(public), public))
    identities: tuple[TrustedIdentity, ...] = ()
    if trust.issuer is not None:
        identities = (TrustedIdentity(trust.issuer, trust.identity, trust.identity_regexp),)
    group = SignerGroup("command line", tuple(trusted), identities, trust.threshold)
    root = _root(trust, needed=bool(identities))
    return TrustPolicy(group, (group,), trusted_root=root)


def _root(trust: TrustInput, *, needed: bool) -> TrustedRoot | None:
    from nebsign.digest import sha256_bytes
    from nebsign.policy.signers import MAX_TRUSTED_ROOT_BYTES, TrustedRoot, bundled_trusted_root

    if trust.trusted_root is not None:
        data = read_bounded(trust.trusted_root, MAX_TRUSTED_ROOT_BYTES, "trusted root")
        return TrustedRoot(trust.trusted_root, sha256_bytes(data), data)
    try:
        return bundled_trusted_root("staging" if trust.staging else "production")
    except NebsignError:
        if needed or trust.staging:
            raise
        return None  # key-only verification works without the bundled Sigstore root
