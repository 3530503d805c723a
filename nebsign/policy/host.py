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

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebsign._internal import fields
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
    #: the ``[channel]`` table (:class:`nebsign.channels.hostspec.ChannelSpec`) or None
    channel: Any = None


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


#: the ``[limits]`` keys that count bytes or files: whole numbers
_INT_LIMITS = frozenset(
    {"max_release_bytes", "max_files", "max_manifest_bytes", "max_bundle_bytes", "max_bundles"}
)


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
    allowed |= {"limits", "unpack", "hooks", "tls", "channel"}
    fields.unknown_keys(obj, allowed, what)
    for key in ("root", "trust_policy"):
        if key not in obj:
            raise InputError(f"{what}: {key!r} is required")
    root = Path(fields.string(obj["root"], f"{what}: root"))
    if not root.is_absolute():
        raise InputError(f"{what}: root must be an absolute path")
    trust_path = base_dir / fields.string(obj["trust_policy"], f"{what}: trust_policy")
    name = fields.maybe(fields.string, obj.get("name"), f"{what}: name")
    keep = fields.integer(
        obj.get("keep", 3),
        f"{what}: keep",
        low=2,
        expected="must be an integer, at least 2 (current and one to roll back to)",
    )
    require_expires = fields.boolean(obj.get("require_expires", True), f"{what}: require_expires")
    required: list[RequiredAttestation] = []
    reqs = fields.tables(
        obj.get("require", []),
        f"{what}: require",
        expected="must be an array of tables ([[require]])",
    )
    for i, item in enumerate(reqs):
        if set(item) != {"predicate_type", "verdict"}:
            raise InputError(f"{what}: require[{i}] needs exactly predicate_type and verdict")
        ptype = fields.string(item["predicate_type"], f"{what}: require[{i}].predicate_type")
        verdict = fields.string(item["verdict"], f"{what}: require[{i}].verdict")
        ptype = NEBSIGN_PREDICATE_TYPES.get(ptype, ptype)
        if not ptype.startswith("https://"):
            raise InputError(f"{what}: require[{i}]: unknown predicate type {ptype!r}")
        required.append(RequiredAttestation(ptype, verdict))
    lim = fields.table(
        obj.get("limits", {}), f"{what}: [limits]", allowed=Limits.__dataclass_fields__
    )
    sizes: dict[str, Any] = {
        k: fields.positive(v, f"{what}: limits.{k}", integral=k in _INT_LIMITS)
        for k, v in lim.items()
    }
    limits = Limits(**sizes)
    unp = fields.table(
        obj.get("unpack", {}), f"{what}: [unpack]", allowed=UnpackSpec.__dataclass_fields__
    )
    unpack = UnpackSpec(
        fields.boolean(unp.get("enabled", False), f"{what}: unpack.enabled"),
        int(
            fields.positive(
                unp.get("max_bytes", UnpackSpec().max_bytes),
                f"{what}: unpack.max_bytes",
                integral=True,
            )
        ),
        int(
            fields.positive(
                unp.get("max_files", UnpackSpec().max_files),
                f"{what}: unpack.max_files",
                integral=True,
            )
        ),
    )
    hk = fields.table(
        obj.get("hooks", {}), f"{what}: [hooks]", allowed=HookSpec.__dataclass_fields__
    )
    hooks = HookSpec(
        fields.argv(hk["health_check"], f"{what}: hooks.health_check")
        if "health_check" in hk
        else (),
        fields.positive(hk.get("health_timeout", 60.0), f"{what}: hooks.health_timeout"),
        fields.argv(hk["post_switch"], f"{what}: hooks.post_switch") if "post_switch" in hk else (),
        fields.positive(hk.get("post_timeout", 60.0), f"{what}: hooks.post_timeout"),
    )
    tls = fields.table(obj.get("tls", {}), f"{what}: [tls]", allowed={"ca_file"})
    tls_ca_pem = None
    if "ca_file" in tls:
        ca_file = fields.string(
            tls["ca_file"], f"{what}: tls.ca_file", nonempty=True, expected="must be a file name"
        )
        tls_ca_pem = read_protected(base_dir / ca_file, "TLS CA file")
        if b"-----BEGIN CERTIFICATE-----" not in tls_ca_pem:
            raise InputError(f"{what}: tls.ca_file {ca_file!r} holds no PEM certificate")
    loader = trust_loader if trust_loader is not None else _load_trust
    trust, trust_raw = loader(trust_path)
    channel = None
    if "channel" in obj:
        from nebsign.channels.hostspec import parse_channel_table

        channel = parse_channel_table(obj["channel"], base_dir=base_dir, what=what, loader=loader)
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
        channel=channel,
    )


def _load_trust(path: Path) -> tuple[TrustPolicy, bytes]:
    from nebsign.policy.trust import TrustPolicy

    raw = read_protected(path, "trust policy")
    return TrustPolicy.from_toml(raw, base_dir=path.parent), raw


def load_host_policy(path: Path) -> HostPolicy:
    """Read, permission-check and parse the host policy and its trust policy."""
    raw = read_protected(path, "host policy")
    return parse_host_policy(raw, base_dir=path.parent, what=f"host policy {path}")
