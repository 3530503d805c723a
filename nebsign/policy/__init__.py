"""The one policy loader and the composition every policy shares.

Policies are objects with ``verify(subject) -> None`` that raise
:class:`~nebsign.errors.VerdictError`; they compose with :class:`AllOf` and
:class:`AnyOf`. An empty composition is an input error, never a pass.
Domain policies live in submodules (``trust``, ``sast``, ``host``) and are
parsed from TOML with :func:`load_toml`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from nebsign._internal import fields
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError

__all__ = [
    "MAX_POLICY_BYTES",
    "AllOf",
    "AnyOf",
    "Policy",
    "load_toml",
    "policy_digest",
    "policy_table",
]

MAX_POLICY_BYTES = 1024 * 1024

S_contra = TypeVar("S_contra", contravariant=True)
S = TypeVar("S")


class Policy(Protocol[S_contra]):
    """Anything that can judge a subject."""

    def verify(self, subject: S_contra) -> None:
        """Return if *subject* satisfies the policy, else raise VerdictError."""
        ...


@dataclass(frozen=True, slots=True)
class AllOf(Generic[S]):
    """Every child policy must pass."""

    children: tuple[Policy[S], ...]

    def __post_init__(self) -> None:
        if not self.children:
            raise InputError("policy: AllOf of no policies would pass anything")

    def verify(self, subject: S) -> None:
        for child in self.children:
            child.verify(subject)


@dataclass(frozen=True, slots=True)
class AnyOf(Generic[S]):
    """At least one child policy must pass; otherwise every reason is reported."""

    children: tuple[Policy[S], ...]

    def __post_init__(self) -> None:
        if not self.children:
            raise InputError("policy: AnyOf of no policies would pass nothing; refusing it")

    def verify(self, subject: S) -> None:
        reasons: list[str] = []
        for child in self.children:
            try:
                child.verify(subject)
            except VerdictError as exc:
                reasons.append(exc.message)
            else:
                return
        raise VerdictError("no alternative of the policy was satisfied: " + "; ".join(reasons))


def load_toml(raw: bytes, what: str = "policy", *, limit: int = MAX_POLICY_BYTES) -> dict[str, Any]:
    """Parse TOML bytes with a size limit; :class:`InputError` naming *what* if invalid."""
    import tomllib  # here, not at the top: most commands never read a policy

    if len(raw) > limit:
        raise InputError(f"{what}: larger than the limit of {limit} bytes")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: not UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{what}: invalid TOML: nested too deeply") from exc


def policy_table(
    raw: bytes, name: str, allowed: Collection[str], what: str = "policy", *, dotted: bool = False
) -> dict[str, Any]:
    """The ``[name]`` table of policy bytes, unknown keys refused (:class:`InputError`).

    The start of every capability's policy reader (``[sast]``, ``[dast]``, ``[audit]``);
    *dotted* names an unknown key as ``[name].key`` (see :func:`fields.unknown_keys`).
    """
    table = load_toml(raw, what).get(name)
    if not isinstance(table, dict):
        raise InputError(f"{what}: no [{name}] table")
    fields.unknown_keys(table, allowed, f"{what}: [{name}]", dotted=dotted)
    return table


def policy_digest(raw: bytes) -> str:
    """``sha256:<hex>`` of a policy file's bytes (recorded in every verdict)."""
    return f"sha256:{sha256_bytes(raw)}"
