"""Host trust policy: what the on-host agent accepts, and where it installs.

A TOML file owned by root and writable only by its owner::

    root = "/var/lib/nebsign-agent"     # agent root: releases/, current, state, audit log
    trust_policy = "trust.toml"         # keys / identities, threshold, pinned trusted root
                                        # (nebsign.policy.trust format; relative to this file)
    name = "exchange-api"               # optional: the manifest must carry this name
    keep = 3                            # installed releases kept (current included)
    require_expires = true              # a manifest without an expiry is refused

    [[require]]                         # required attestations (any number)
    predicate_type = "sast"             # short name or full predicate type URI
    verdict = "pass"

    [limits]
    max_release_bytes = 8589934592      # sum of payload sizes
    max_files = 100000
    max_manifest_bytes = 67108864
    stall_seconds = 30                  # no byte for this long: the download is dropped
    timeout_seconds = 3600              # per file

    [unpack]                            # unpack payload archives (tar, zip) at install
    enabled = false
    max_bytes = 8589934592
    max_files = 100000

    [tls]                               # optional: trust only this CA for https:// releases
    ca_file = "release-ca.pem"          # relative to this file; same permission rules

    [hooks]
    health_check = ["/usr/local/bin/check-release"]   # run before the switch; non-zero = refuse
    health_timeout = 60
    post_switch = ["/bin/systemctl", "reload", "exchange-api"]
    post_timeout = 60

This file, the trust policy and the CA file it names, and every directory
above them up to ``/`` must be owned by root (or the agent's own user) and
not writable by group or others (like sshd's ``StrictModes``), else
:class:`UnsafePolicyFile` (exit 2, naming the path): whoever can write the
policy decides what gets installed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebsign._internal.owned import UnsafePath, open_owned
from nebsign.errors import InputError
from nebsign.policy import MAX_POLICY_BYTES, load_toml, policy_digest
from nebsign.release_check import RequiredAttestation

if TYPE_CHECKING:
    from collections.abc import Callable

    from nebsign.policy.trust import TrustPolicy

__all__ = [
    "HookSpec",
    "HostPolicy",
    "Limits",
    "RequiredAttestation",
    "UnpackSpec",
    "UnsafePolicyFile",
    "load_host_policy",
    "parse_host_policy",
    "read_protected",
]


#: A policy file (or a directory above it) could be changed by an untrusted user.
UnsafePolicyFile = UnsafePath


@dataclass(frozen=True, slots=True)
class Limits:
    max_release_bytes: int = 8 * 1024**3
    max_files: int = 100_000
    max_manifest_bytes: int = 64 * 1024**2
    max_bundle_bytes: int = 4 * 1024**2
    max_bundles: int = 64
    stall_seconds: float = 30.0
    timeout_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class UnpackSpec:
    enabled: bool = False
    max_bytes: int = 8 * 1024**3
    max_files: int = 100_000


@dataclass(frozen=True, slots=True)
class HookSpec:
    health_check: tuple[str, ...] = ()
    health_timeout: float = 60.0
    post_switch: tuple[str, ...] = ()
    post_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """A parsed host policy and the trust policy it names."""

    root: Path
    trust: TrustPolicy
    trust_digest: str
    digest: str
    name: str | None = None
    keep: int = 3
    require_expires: bool = True
    required: tuple[RequiredAttestation, ...] = ()
    limits: Limits = field(default_factory=Limits)
    unpack: UnpackSpec = field(default_factory=UnpackSpec)
    hooks: HookSpec = field(default_factory=HookSpec)
    #: PEM CA certificates for HTTPS (``[tls] ca_file``), read with the policy
    tls_ca_pem: bytes | None = None


def read_protected(path: Path, what: str, limit: int = MAX_POLICY_BYTES) -> bytes:
    """Read a policy file once, refusing it unless root (or the agent's user) controls it.

    The file and every directory above it must be owned by root or the
    effective uid and not writable by group or others (sticky directories
    owned by them excepted), see :func:`nebsign._internal.owned.open_owned`.
    """
    fd, _st = open_owned(path, what)
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{what} {path}: larger than {limit} bytes")
    return data


def _typed(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = obj[key]
    if isinstance(value, bool) and kind is not bool:
        raise InputError(f"{what}: {key!r} has the wrong type")
    if not isinstance(value, kind):
        raise InputError(f"{what}: {key!r} has the wrong type")
    return value


def _table(obj: dict[str, Any], key: str, what: str, allowed: set[str]) -> dict[str, Any]:
    table = obj.get(key, {})
    if not isinstance(table, dict):
        raise InputError(f"{what}: [{key}] must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{what}: unknown key {key}.{unknown[0]}")
    return table


_INT_LIMITS = frozenset(
    {"max_release_bytes", "max_files", "max_manifest_bytes", "max_bundle_bytes", "max_bundles"}
)


def _positive(value: Any, key: str, what: str) -> Any:
    """A finite number > 0; byte and count limits must be integers."""
    integral = key.rpartition(".")[2] in _INT_LIMITS or key.endswith(("max_bytes", "max_files"))
    kind = "a positive integer" if integral else "a positive, finite number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{what}: {key} must be {kind}")
    if (integral and not isinstance(value, int)) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{what}: {key} must be {kind}")
    return value


def _argv(value: Any, key: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InputError(f"{what}: hooks.{key} must be a non-empty list of strings (argv)")
    if not os.path.isabs(value[0]):
        raise InputError(f"{what}: hooks.{key}: the program must be an absolute path")
    return tuple(value)


def parse_host_policy(
    raw: bytes,
    *,
    base_dir: Path,
    what: str = "host policy",
    trust_loader: Callable[[Path], tuple[TrustPolicy, bytes]] | None = None,
) -> HostPolicy:
    """Parse host policy bytes; *trust_loader(path) -> (trust, raw)* loads the trust policy."""
    from nebsign.attest import NEBSIGN_PREDICATE_TYPES

    obj = load_toml(raw, what)
    allowed = {"root", "trust_policy", "name", "keep", "require_expires", "require"}
    allowed |= {"limits", "unpack", "hooks", "tls"}
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r}")
    for key in ("root", "trust_policy"):
        if key not in obj:
            raise InputError(f"{what}: {key!r} is required")
    root = Path(_typed(obj, "root", str, what))
    if not root.is_absolute():
        raise InputError(f"{what}: root must be an absolute path")
    trust_path = base_dir / _typed(obj, "trust_policy", str, what)
    name = _typed(obj, "name", str, what) if "name" in obj else None
    keep = _typed(obj, "keep", int, what) if "keep" in obj else 3
    if keep < 2:
        raise InputError(f"{what}: keep must be at least 2 (current and one to roll back to)")
    require_expires = (
        _typed(obj, "require_expires", bool, what) if "require_expires" in obj else True
    )
    required: list[RequiredAttestation] = []
    reqs = obj.get("require", [])
    if not isinstance(reqs, list):
        raise InputError(f"{what}: 'require' must be an array of tables ([[require]])")
    for i, item in enumerate(reqs):
        if not isinstance(item, dict) or set(item) != {"predicate_type", "verdict"}:
            raise InputError(f"{what}: require[{i}] needs exactly predicate_type and verdict")
        ptype, verdict = item["predicate_type"], item["verdict"]
        if not isinstance(ptype, str) or not isinstance(verdict, str):
            raise InputError(f"{what}: require[{i}]: predicate_type and verdict are strings")
        ptype = NEBSIGN_PREDICATE_TYPES.get(ptype, ptype)
        if not ptype.startswith("https://"):
            raise InputError(f"{what}: require[{i}]: unknown predicate type {ptype!r}")
        required.append(RequiredAttestation(ptype, verdict))
    lim = _table(obj, "limits", what, set(Limits.__dataclass_fields__))
    limits = Limits(**{k: _positive(v, f"limits.{k}", what) for k, v in lim.items()})
    unp = _table(obj, "unpack", what, set(UnpackSpec.__dataclass_fields__))
    enabled = unp.get("enabled", False)
    if not isinstance(enabled, bool):
        raise InputError(f"{what}: unpack.enabled must be true or false")
    unpack = UnpackSpec(
        enabled,
        _positive(unp.get("max_bytes", UnpackSpec().max_bytes), "unpack.max_bytes", what),
        _positive(unp.get("max_files", UnpackSpec().max_files), "unpack.max_files", what),
    )
    hk = _table(obj, "hooks", what, set(HookSpec.__dataclass_fields__))
    hooks = HookSpec(
        _argv(hk["health_check"], "health_check", what) if "health_check" in hk else (),
        _positive(hk.get("health_timeout", 60.0), "hooks.health_timeout", what),
        _argv(hk["post_switch"], "post_switch", what) if "post_switch" in hk else (),
        _positive(hk.get("post_timeout", 60.0), "hooks.post_timeout", what),
    )
    tls = _table(obj, "tls", what, {"ca_file"})
    tls_ca_pem = None
    if "ca_file" in tls:
        ca_file = tls["ca_file"]
        if not isinstance(ca_file, str) or not ca_file:
            raise InputError(f"{what}: tls.ca_file must be a file name")
        tls_ca_pem = read_protected(base_dir / ca_file, "TLS CA file")
        if b"-----BEGIN CERTIFICATE-----" not in tls_ca_pem:
            raise InputError(f"{what}: tls.ca_file {ca_file!r} holds no PEM certificate")
    loader = trust_loader if trust_loader is not None else _load_trust
    trust, trust_raw = loader(trust_path)
    return HostPolicy(
        root=root,
        trust=trust,
        trust_digest=policy_digest(trust_raw),
        digest=policy_digest(raw),
        name=name,
        keep=keep,
        require_expires=require_expires,
        required=tuple(required),
        limits=limits,
        unpack=unpack,
        hooks=hooks,
        tls_ca_pem=tls_ca_pem,
    )


def _load_trust(path: Path) -> tuple[TrustPolicy, bytes]:
    from nebsign.policy.trust import TrustPolicy

    raw = read_protected(path, "trust policy")
    return TrustPolicy.from_toml(raw, base_dir=path.parent), raw


def load_host_policy(path: Path) -> HostPolicy:
    """Read, permission-check and parse the host policy and its trust policy."""
    raw = read_protected(path, "host policy")
    return parse_host_policy(raw, base_dir=path.parent, what=f"host policy {path}")
