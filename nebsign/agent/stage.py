"""Stage a release once into a private directory and verify the staged bytes.

Order (python-tuf style: metadata first, then targets bounded by it):

1. copy ``release.json`` into ``<stage>/meta/release.json`` (bounded) and
   every bundle into ``<stage>/meta/bundles/`` (bounded, counted);
2. hand *our copies'* bytes to the one release check
   (:func:`nebsign.release_check.verify_release`, shared with ``nebsign
   verify --manifest``): signatures over release.json's sha256 by the trust
   policy (a failing extra bundle counts for nothing), then the parsed
   manifest's name, version, freshness and size, then the required
   attestations;
3. copy each payload file into ``<stage>/payload/`` while hashing it, with
   the manifest's size as the limit, and compare with the manifest;
4. unpack archives (when the policy says so) from the staged copies.

The source is read exactly once per file; everything after reads only the
staged copies, so swapping a source file after it was read changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from nebsign._internal.atomic import io_error
from nebsign._internal.fetch import FetchLimits, SizeMismatch, fetch_to_fd, join_location
from nebsign._internal.printable import printable
from nebsign._internal.unpack import is_archive, safe_extract
from nebsign.agent.durable import fsync_tree, publish_modes
from nebsign.agent.source import MANIFEST_FILE, PAYLOAD_DIR, list_bundles, redact
from nebsign.digest import TooLarge
from nebsign.errors import NebsignError, VerdictError
from nebsign.manifest import Manifest
from nebsign.policy.host import HostPolicy
from nebsign.release_check import (
    BundleInput,
    MissingAttestation,
    ReleaseExpired,
    ReleaseRequirements,
    SignatureRejected,
    VerifiedRelease,
    WrongRelease,
    verify_release,
)
from nebsign.tree import build_manifest

__all__ = [
    "ArtifactMismatch",
    "MissingAttestation",
    "ReleaseExpired",
    "SignatureRejected",
    "StagedRelease",
    "VerifiedMetadata",
    "WrongRelease",
    "reason_of",
    "release_requirements",
    "stage_metadata",
    "stage_payload",
]

Step = Callable[[str], None]


class ArtifactMismatch(VerdictError):
    reason: ClassVar[str] = "artifact-mismatch"


def reason_of(exc: NebsignError) -> str:
    """The refusal's reason code for the audit log: its class's ``reason``."""
    return exc.reason


#: release.json and its bundles, verified (the one release check's verdict)
VerifiedMetadata = VerifiedRelease


@dataclass(frozen=True, slots=True)
class StagedRelease:
    """A fully staged and verified release directory."""

    path: Path
    meta: VerifiedMetadata
    tree_sha256: str | None


def fetch_limits(policy: HostPolicy) -> FetchLimits:
    """How the agent fetches under *policy*: its timeouts and its pinned TLS CAs."""
    return FetchLimits(
        policy.limits.stall_seconds, policy.limits.timeout_seconds, policy.tls_ca_pem
    )


def _new_file(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise io_error(path, exc, "create") from exc
    try:
        os.fchmod(fd, 0o644)  # the installed mode, whatever the umask
    except OSError as exc:
        os.close(fd)
        raise io_error(path, exc, "chmod") from exc
    return fd


def _copy_in(
    location: str,
    dest: Path,
    limit: int,
    policy: HostPolicy,
    size: int | None,
    below: str | None = None,
) -> str:
    """Copy one source file into *dest* (new); return its hex sha256.

    A local source is opened without following links below *below*.
    """
    fd = _new_file(dest)
    try:
        digest = fetch_to_fd(
            location, fd, limit=limit, limits=fetch_limits(policy), expected_size=size, below=below
        )
    except OSError as exc:
        raise io_error(dest, exc) from exc
    finally:
        os.close(fd)
    return digest.sha256


def _read_staged(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise io_error(path, exc, "read") from exc


def _mkdirs(*paths: Path) -> None:
    for p in paths:
        try:
            p.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError as exc:
            raise io_error(p, exc, "create") from exc


def stage_metadata(
    location: str, stage: Path, policy: HostPolicy, now: datetime, step: Step
) -> VerifiedMetadata:
    """Steps 1-2: stage release.json and its bundles, then the one release check."""

    meta_dir, bundle_dir = stage / "meta", stage / "meta" / "bundles"
    _mkdirs(meta_dir, bundle_dir)
    shown = redact(location)
    manifest_path = meta_dir / MANIFEST_FILE
    lim = policy.limits
    _copy_in(
        join_location(location, MANIFEST_FILE),
        manifest_path,
        lim.max_manifest_bytes,
        policy,
        None,
        location,
    )
    # Parsed only once its signature verified (in verify_release).
    manifest_raw = _read_staged(manifest_path)
    step("fetched-manifest")
    listing = list_bundles(location, limit=lim.max_bundles, limits=fetch_limits(policy))
    inputs: dict[str, list[BundleInput]] = {"sig": [], "att": []}
    for kind, names in (("sig", listing.signatures), ("att", listing.attestations)):
        for i, name in enumerate(names):
            dest = bundle_dir / f"{kind}-{i:03d}.sigstore.json"
            src = join_location(location, name)
            _copy_in(src, dest, lim.max_bundle_bytes, policy, None, location)
            inputs[kind].append((f"{shown}/{name}", _read_staged(dest)))
    fsync_tree(meta_dir)
    step("fetched-bundles")
    verified = verify_release(
        manifest_raw,
        inputs["sig"],
        inputs["att"],
        policy.trust,
        release_requirements(policy),
        now=now,
        what=f"release {shown}",
        manifest_name=f"{shown}/{MANIFEST_FILE}",
    )
    step("verified-metadata")
    return verified


def release_requirements(policy: HostPolicy) -> ReleaseRequirements:
    """What the host policy demands of a release beyond its signatures."""
    return ReleaseRequirements(
        name=policy.name,
        require_version=True,
        require_expires=policy.require_expires,
        attestations=policy.required,
        max_files=policy.limits.max_files,
        max_release_bytes=policy.limits.max_release_bytes,
    )


def stage_payload(
    location: str, stage: Path, meta: VerifiedMetadata, policy: HostPolicy, step: Step
) -> StagedRelease:
    """Steps 3-4: copy payload files once, compare with the verified manifest, unpack."""
    payload = stage / PAYLOAD_DIR
    _mkdirs(payload)
    shown = redact(location)
    for n, entry in enumerate(meta.manifest.files):
        dest = payload / entry.path
        _mkdirs(dest.parent)
        src = join_location(location, f"{PAYLOAD_DIR}/{entry.path}")
        name = printable(entry.path)  # a signed name may still hold a newline or ESC
        try:
            got = _copy_in(src, dest, entry.size, policy, entry.size, location)
        except TooLarge as exc:
            raise TooLarge(
                f"release {shown}: payload/{name}: more than the {entry.size} bytes "
                "the signed manifest declares (oversized download refused)"
            ) from exc
        except SizeMismatch as exc:
            raise ArtifactMismatch(
                f"release {shown}: payload/{name}: size differs from the signed manifest "
                f"({exc.message.rsplit(': ', 1)[-1]}): tampered or truncated artifact refused"
            ) from exc
        if got != entry.sha256:
            raise ArtifactMismatch(
                f"release {shown}: payload/{name}: sha256 {got[:16]}... does not match "
                f"the signed manifest ({entry.sha256[:16]}...): tampered artifact refused"
            )
        if entry.executable:
            # The signed manifest says so (the source's own mode is never trusted).
            try:
                os.chmod(dest, 0o755)  # noqa: S103 - a program, readable like the 0644 files
            except OSError as exc:
                raise io_error(dest, exc, "chmod") from exc
        if n == 0:
            step("staged-first-file")
    for link in meta.manifest.symlinks:
        dest = payload / link.path
        _mkdirs(dest.parent)
        try:
            os.symlink(link.target, dest)
        except OSError as exc:
            raise io_error(dest, exc, "create") from exc
    step("staged-payload")
    tree_sha = None
    if policy.unpack.enabled:
        tree_sha = _unpack_all(stage, meta.manifest, policy)
        step("unpacked")
    publish_modes(stage)
    fsync_tree(stage)
    step("fsynced-stage")
    return StagedRelease(stage, meta, tree_sha)


def _unpack_all(stage: Path, manifest: Manifest, policy: HostPolicy) -> str | None:
    archives = [e for e in manifest.files if is_archive(e.path)]
    if not archives:
        return None
    unpacked = stage / "unpacked"
    _mkdirs(unpacked)
    budget_bytes, budget_files = policy.unpack.max_bytes, policy.unpack.max_files
    for entry in archives:
        dest = unpacked / entry.path
        _mkdirs(dest.parent)
        result = safe_extract(
            stage / PAYLOAD_DIR / entry.path,
            dest,
            max_bytes=budget_bytes,
            max_files=budget_files,
            display_name=f"payload/{printable(entry.path)}",
        )
        budget_bytes -= result.bytes
        budget_files -= result.files + result.links
    tree = build_manifest(unpacked)
    data = tree.to_json()
    (stage / "meta" / "tree.json").write_bytes(data)
    return tree.digest()
