"""The trust flags every verifying command shares, collected into one ``TrustInput``.

``@trust_options()`` adds ``--key``, ``--identity``, ``--identity-regexp``,
``--issuer``, ``--trusted-root``, ``--staging``, ``--policy`` and
``--threshold`` and hands the command one keyword argument, ``trust``
(a :class:`~nebsign.policy.trust_input.TrustInput`); the command makes the
policy with :func:`~nebsign.policy.trust_input.load_trust_policy`. A command
whose ``--key`` or ``--policy`` already means something else (the report's
signing key, the gate's own policy) renames those two flags.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from nebsign.policy.trust_input import TrustInput

__all__ = ["trust_options"]

F = TypeVar("F", bound=Callable[..., Any])

_NAMES = (
    "keys",
    "identity",
    "identity_regexp",
    "issuer",
    "trusted_root",
    "staging",
    "policy_file",
    "threshold",
)


def trust_options(
    *, key_flag: str = "--key", policy_flag: str = "--policy", attestations_only: bool = False
) -> Callable[[F], F]:
    """Add the trust flags; the command receives them as ``trust: TrustInput``.

    *attestations_only*: the command checks attestations (one trusted signer each),
    so its help says ``--threshold`` stays 1 (``load_trust_policy`` refuses more).
    """
    threshold_help = (
        "Must stay 1 here: an attestation needs one trusted signer."
        if attestations_only
        else f"Distinct trusted signers required (with {key_flag})."
    )
    options = (
        click.option(
            key_flag,
            "keys",
            multiple=True,
            type=click.Path(dir_okay=False),
            help="Trusted public key (repeatable).",
        ),
        click.option(
            "--identity",
            "--cert-identity",
            "identity",
            help="Trusted Sigstore certificate identity (exact).",
        ),
        click.option(
            "--identity-regexp",
            "--cert-identity-regexp",
            "identity_regexp",
            help="Trusted Sigstore identity as a regular expression (full match).",
        ),
        click.option("--issuer", "--cert-oidc-issuer", "issuer", help="OIDC issuer of --identity."),
        click.option(
            "--trusted-root",
            type=click.Path(dir_okay=False),
            help="Sigstore trusted_root.json to verify keyless bundles with (as cosign's).",
        ),
        click.option(
            "--staging", is_flag=True, help="Use the bundled Sigstore staging trusted root."
        ),
        click.option(
            policy_flag,
            "policy_file",
            type=click.Path(dir_okay=False),
            help="Trust policy TOML (keys, identities, threshold, pinned root).",
        ),
        click.option(
            "--threshold",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help=threshold_help,
        ),
    )

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in _NAMES}
            trust = TrustInput(**values, key_flag=key_flag, policy_flag=policy_flag)
            return func(*args, trust=trust, **kwargs)

        wrapped: Any = command
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate
