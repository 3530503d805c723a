"""Stage a release once into a private directory and verify the staged bytes.

Order (python-tuf style: metadata first, then targets bounded by it):

1. copy ``release.json`` into ``<stage>/meta/release.json`` while hashing it
   (bounded), then parse *our copy*;
2. copy every bundle into ``<stage>/meta/bundles/`` (bounded, counted) and
   verify the signatures over release.json's sha256 against the trust policy;
3. check name, version presence and freshness (``expires``), then the required
   attestations (verified DSSE statements covering release.json's digest,
   with the required predicate type and verdict);
4. copy each payload file into ``<stage>/payload/`` while hashing it, with
   the manifest's size as the limit, and compare with the manifest;
5. unpack archives (when the policy says so) from the staged copies.

The source is read exactly once per file; everything after reads only the
staged copies, so swapping a source file after it was read changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from nebsign._internal.atomic import io_error
from nebsign._internal.fetch import FetchLimits, SizeMismatch, fetch_to_fd, join_location
from nebsign._internal.printable import printable
from nebsign._internal.unpack import is_archive, safe_extract
from nebsign.agent.durable import fsync_tree, publish_modes
from nebsign.agent.source import MANIFEST_FILE, PAYLOAD_DIR, list_bundles, redact
from nebsign.digest import TooLarge
from nebsign.errors import InputError, NebsignError, VerdictError
from nebsign.manifest import Manifest
from nebsign.policy.host import HostPolicy
from nebsign.tree import build_manifest

if TYPE_CHECKING:
    from nebsign.bundle import Bundle

__all__ = [
    "ArtifactMismatch",
    "MissingAttestation",
    "ReleaseExpired",
    "SignatureRejected",
    "StagedRelease",
    "VerifiedMetadata",
    "WrongRelease",
    "reason_of",
    "stage_metadata",
    "stage_payload",
]

Step = Callable[[str], None]


class SignatureRejected(VerdictError):
    reason: ClassVar[str] = "signature"


class ArtifactMismatch(VerdictError):
    reason: ClassVar[str] = "artifact-mismatch"


class ReleaseExpired(VerdictError):
    reason: ClassVar[str] = "expired"


class MissingAttestation(VerdictError):
    reason: ClassVar[str] = "missing-attestation"


class WrongRelease(VerdictError):
    reason: ClassVar[str] = "wrong-release"


def reason_of(exc: NebsignError) -> str:
    """A short, stable reason code for the audit log."""
    explicit = getattr(exc, "reason", None)
    if isinstance(explicit, str):
        return explicit
    if isinstance(exc, TooLarge):
        return "oversized"
    name = type(exc).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


@dataclass(frozen=True, slots=True)
class VerifiedMetadata:
    """release.json and its bundles, verified."""

    manifest: Manifest
    manifest_sha256: str
    signers: tuple[str, ...]
    attestations: tuple[str, ...]

    @property
    def version(self) -> str:
        assert self.manifest.version is not None
        return self.manifest.version

    @property
    def name(self) -> str:
        return self.manifest.name or ""


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
    """Steps 1-3: stage and verify release.json, its signatures and attestations."""
    from nebsign.bundle import Bundle as BundleType

    meta_dir, bundle_dir = stage / "meta", stage / "meta" / "bundles"
    _mkdirs(meta_dir, bundle_dir)
    shown = redact(location)
    manifest_path = meta_dir / MANIFEST_FILE
    lim = policy.limits
    manifest_sha = _copy_in(
        join_location(location, MANIFEST_FILE),
        manifest_path,
        lim.max_manifest_bytes,
        policy,
        None,
        location,
    )
    manifest = Manifest.from_json(_read_staged(manifest_path), f"{shown}/{MANIFEST_FILE}")
    step("fetched-manifest")
    listing = list_bundles(location, limit=lim.max_bundles, limits=fetch_limits(policy))
    sig_bundles: list[Bundle] = []
    att_bundles: list[Bundle] = []
    for kind, names, out in (
        ("sig", listing.signatures, sig_bundles),
        ("att", listing.attestations, att_bundles),
    ):
        for i, name in enumerate(names):
            dest = bundle_dir / f"{kind}-{i:03d}.sigstore.json"
            src = join_location(location, name)
            _copy_in(src, dest, lim.max_bundle_bytes, policy, None, location)
            out.append(BundleType.from_json(_read_staged(dest), f"{shown}/{name}"))
    fsync_tree(meta_dir)
    step("fetched-bundles")
    signers = _verify_signatures(manifest_sha, sig_bundles, policy, now, shown)
    _check_release(manifest, policy, now, shown)
    attestations = _verify_attestations(manifest_sha, att_bundles, policy, now, shown)
    step("verified-metadata")
    return VerifiedMetadata(manifest, manifest_sha, signers, attestations)


def _verify_signatures(
    manifest_sha: str, bundles: list[Bundle], policy: HostPolicy, now: datetime, shown: str
) -> tuple[str, ...]:
    from nebsign.verify import verify_artifact

    if not bundles:
        raise SignatureRejected(
            f"release {shown}: release.json is not signed (no signature bundle found)"
        )
    try:
        verified = verify_artifact(manifest_sha, bundles, policy.trust, now=now)
    except VerdictError as exc:
        raise SignatureRejected(
            f"release {shown}: signatures on release.json rejected: {exc.message}"
        ) from exc
    return tuple(sorted(str(s) for s in verified.signers))


def _check_release(manifest: Manifest, policy: HostPolicy, now: datetime, shown: str) -> None:
    if manifest.version is None:
        raise WrongRelease(f"release {shown}: release.json names no version")
    if policy.name is not None and manifest.name != policy.name:
        raise WrongRelease(
            f"release {shown}: release.json is for {manifest.name!r}, "
            f"this host installs {policy.name!r}"
        )
    if manifest.expires is None:
        if policy.require_expires:
            raise ReleaseExpired(
                f"release {shown}: release.json has no expiry and the host policy requires one"
            )
    elif manifest.is_expired(now):
        raise ReleaseExpired(
            f"release {shown}: signed manifest expired at {manifest.expires} "
            "(stale or frozen release refused)"
        )
    if len(manifest.files) + len(manifest.symlinks) > policy.limits.max_files:
        raise TooLarge(f"release {shown}: more than {policy.limits.max_files} files")
    if manifest.total_size > policy.limits.max_release_bytes:
        raise TooLarge(
            f"release {shown}: payload of {manifest.total_size} bytes exceeds the host "
            f"limit of {policy.limits.max_release_bytes} bytes (oversized release)"
        )


def _verify_attestations(
    manifest_sha: str, bundles: list[Bundle], policy: HostPolicy, now: datetime, shown: str
) -> tuple[str, ...]:
    from nebsign.verify import verify_attestation

    found: dict[str, set[str]] = {}
    notes: list[str] = []
    for bundle in bundles:
        try:
            statement = verify_attestation(bundle, policy.trust, now=now)
        except (VerdictError, InputError) as exc:
            notes.append(exc.message)
            continue
        if not statement.covers(manifest_sha):
            notes.append(f"a {statement.predicate_type} statement is about other artifacts")
            continue
        verdict = statement.predicate.get("verdict")
        found.setdefault(statement.predicate_type, set()).add(
            verdict if isinstance(verdict, str) else ""
        )
    required: list[tuple[str, str | None]] = [
        (r.predicate_type, r.verdict) for r in policy.required
    ]
    required += [(p, None) for p in getattr(policy.trust, "required_predicates", ())]
    for ptype, verdict in required:
        have = found.get(ptype, set())
        if (verdict is None and have) or verdict in have:
            continue
        why = f"; ignored: {notes[0]}" if notes else ""
        want = f" with verdict {verdict!r}" if verdict else ""
        got = f" (found verdicts {sorted(have)})" if have else ""
        raise MissingAttestation(
            f"release {shown}: no verified {ptype} attestation{want} covers release.json{got}{why}"
        )
    return tuple(sorted(found))


def stage_payload(
    location: str, stage: Path, meta: VerifiedMetadata, policy: HostPolicy, step: Step
) -> StagedRelease:
    """Steps 4-5: copy payload files once, compare with the verified manifest, unpack."""
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
