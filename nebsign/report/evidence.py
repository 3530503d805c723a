"""Read a release directory (ADR 0004 layout) and verify every piece before use.

::

    <release>/release.json                   manifest (signed object)
    <release>/release.json.sigstore.json     signature bundle over sha256(release.json)
    <release>/signatures/*.sigstore.json     more signature bundles
    <release>/attestations/*.sigstore.json   DSSE bundles about this release
    <release>/payload/...                    (optional) the files release.json lists

Order: the signatures over ``sha256(release.json)`` are judged by the trust
policy (:func:`nebsign.verify.verify_artifact`) *before* the manifest is
parsed; each attestation bundle is verified
(:func:`nebsign.verify.verify_attestation`) *before* its statement is read,
and must be about this release (a subject naming release.json's digest or
the digest of one of its files). When ``payload/`` is present it is hashed
against the verified manifest. Any failure refuses the whole report.

``unsigned_preview=True`` turns failures into ``problems`` (shown on every
page of the preview) instead of refusals; nothing is reported as verified.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nebsign._internal.readlimit import read_bounded
from nebsign.errors import InputError, NebsignError, VerdictError

if TYPE_CHECKING:
    from nebsign.attest import Statement
    from nebsign.bundle import Bundle
    from nebsign.manifest import Manifest
    from nebsign.policy.trust import TrustPolicy

__all__ = [
    "Evidence",
    "NotThisRelease",
    "SignedBy",
    "SignedFile",
    "UnsignedEvidence",
    "dsse_pae",
    "load_release",
    "signed_by",
]

MANIFEST_FILE = "release.json"
SIGNATURE_FILE = "release.json.sigstore.json"
_SUFFIX = ".sigstore.json"
MAX_BUNDLES = 256


class UnsignedEvidence(VerdictError):
    """Evidence without a trusted signature, and no ``--unsigned-preview``."""

    reason = "unsigned-evidence"


class NotThisRelease(VerdictError):
    """A verified attestation that is about other artifacts than this release."""

    reason = "not-this-release"


@dataclass(frozen=True, slots=True)
class SignedBy:
    """Who signed one bundle: key id or Sigstore identity, and its log entry."""

    signer: str
    kind: str  # "key" | "sigstore" | "unverified"
    log_index: int | None = None
    integrated_time: str | None = None


@dataclass(frozen=True, slots=True)
class SignedFile:
    """One bundle file of the release and what it proved."""

    path: str
    sha256: str
    signed_by: SignedBy
    statement: Statement | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A release's verified manifest, signatures and attestations."""

    manifest: Manifest
    manifest_sha256: str
    signatures: tuple[SignedFile, ...]
    attestations: tuple[SignedFile, ...]
    policy_digest: str | None
    verified: bool
    payload_checked: int | None
    problems: tuple[str, ...] = ()


def _bundle_names(root: Path) -> tuple[list[str], list[str]]:
    sigs = [SIGNATURE_FILE] if (root / SIGNATURE_FILE).is_file() else []
    atts: list[str] = []
    for sub, out in (("signatures", sigs), ("attestations", atts)):
        folder = root / sub
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise InputError(f"release {root}: {sub} is not a directory")
        if folder.is_dir():
            try:
                names = sorted(n for n in os.listdir(folder) if n.endswith(_SUFFIX))
            except OSError as exc:
                raise InputError(f"cannot read {folder}: {exc.strerror or exc}") from exc
            out.extend(f"{sub}/{n}" for n in names)
    if len(sigs) + len(atts) > MAX_BUNDLES:
        raise InputError(f"release {root}: more than {MAX_BUNDLES} bundles")
    return sigs, atts


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_by(bundle: Bundle, policy: TrustPolicy, message: bytes, prehashed: bool) -> SignedBy:
    """The signer of a bundle that already verified under *policy*."""
    log = bundle.tlog_entries[0] if bundle.tlog_entries else None
    index = log.log_index if log is not None else None
    when = _time(log.integrated_time) if log is not None else None
    if bundle.certificate is not None:
        from nebsign.keyless import verify_keyless

        assert policy.trusted_root is not None
        sha = message.hex() if prehashed else None
        signer, _ = verify_keyless(bundle, policy.trusted_root, policy.identities, sha256_hex=sha)
        return SignedBy(str(signer), "sigstore", index, when)
    from nebsign.bundle import DsseEnvelope, MessageSignature
    from nebsign.verify import verify_message

    content = bundle.content
    assert isinstance(content, MessageSignature | DsseEnvelope)
    hint = bundle.public_key_hint
    known = policy.key(hint) if hint is not None else None
    for key in [known] if known is not None else list(policy.keys.values()):
        if verify_message(key.public_key, content.signature, message, prehashed=prehashed):
            return SignedBy(key.key_id, "key", index, when)
    raise VerdictError("signature does not verify with any trusted key")  # pragma: no cover


def _read_bundle(root: Path, name: str) -> tuple[Bundle, str]:
    from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
    from nebsign.digest import sha256_bytes

    raw = read_bounded(root / name, MAX_BUNDLE_BYTES, "bundle")
    return Bundle.from_json(raw, f"{root}/{name}"), sha256_bytes(raw)


def _preview_statement(bundle: Bundle, name: str) -> Statement | None:
    from nebsign.attest import Statement
    from nebsign.bundle import DsseEnvelope

    if not isinstance(bundle.content, DsseEnvelope):
        return None
    return Statement.from_json(bundle.content.payload, f"attestation {name}")


def _about_release(statement: Statement, manifest: Manifest, manifest_sha: str) -> bool:
    ours = {manifest_sha} | {e.sha256 for e in manifest.files}
    return any(s.sha256 in ours for s in statement.subjects)


def load_release(
    release_dir: str | os.PathLike[str],
    policy: TrustPolicy | None,
    *,
    unsigned_preview: bool = False,
    now: datetime | None = None,
) -> Evidence:
    """Verify and read the release at *release_dir* (see the module docstring)."""
    from nebsign.digest import sha256_bytes
    from nebsign.manifest import MAX_MANIFEST_BYTES, Manifest
    from nebsign.verify import verify_artifact, verify_attestation

    root = Path(release_dir)
    if not root.is_dir():
        raise InputError(f"release {root}: not a directory")
    if policy is None and not unsigned_preview:
        raise InputError("a trust policy is required (--policy or --key), or --unsigned-preview")
    raw = read_bounded(root / MANIFEST_FILE, MAX_MANIFEST_BYTES, "manifest")
    manifest_sha = sha256_bytes(raw)
    sig_names, att_names = _bundle_names(root)
    problems: list[str] = []

    def refuse(exc: NebsignError, where: str) -> None:
        if not unsigned_preview:
            raise exc
        problems.append(f"{where}: {exc.message}")

    sigs = [(n, *_read_bundle(root, n)) for n in sig_names]
    if not sigs:
        refuse(UnsignedEvidence(f"release {root}: release.json is not signed"), MANIFEST_FILE)
    elif policy is not None:
        try:
            verify_artifact(manifest_sha, [b for _, b, _ in sigs], policy, now=now)
        except VerdictError as exc:
            refuse(exc, f"signatures on {MANIFEST_FILE}")
    elif unsigned_preview:
        problems.append("no trust policy given: no signature was checked")
    manifest = Manifest.from_json(raw, f"{root}/{MANIFEST_FILE}")  # only after its signatures
    signatures = tuple(
        SignedFile(n, sha, _sig_signer(b, policy, manifest_sha)) for n, b, sha in sigs
    )
    attestations: list[SignedFile] = []
    for name in att_names:
        bundle, sha = _read_bundle(root, name)
        statement: Statement | None = None
        signed = SignedBy("not verified", "unverified")
        if policy is not None:
            try:
                statement = verify_attestation(bundle, policy, now=now)
                signed = signed_by(bundle, policy, dsse_pae(bundle), False)
            except (VerdictError, InputError) as exc:
                refuse(exc, name)
        if statement is None:
            statement = _preview_statement(bundle, name)
            if statement is None:
                refuse(InputError(f"{name}: not an attestation (DSSE) bundle"), name)
                continue
        if not _about_release(statement, manifest, manifest_sha):
            refuse(
                NotThisRelease(
                    f"{name}: the {statement.predicate_type} statement is about other "
                    f"artifacts, not release {manifest.name} {manifest.version} "
                    f"(sha256:{manifest_sha[:16]}...)"
                ),
                name,
            )
            continue
        attestations.append(SignedFile(name, sha, signed, statement))
    checked = _check_payload(root, manifest, refuse)
    return Evidence(
        manifest=manifest,
        manifest_sha256=manifest_sha,
        signatures=signatures,
        attestations=tuple(attestations),
        policy_digest=policy.digest or None if policy is not None else None,
        verified=not problems and policy is not None,
        payload_checked=checked,
        problems=tuple(problems),
    )


def _sig_signer(bundle: Bundle, policy: TrustPolicy | None, manifest_sha: str) -> SignedBy:
    if policy is None:
        return SignedBy("not verified", "unverified")
    try:
        return signed_by(bundle, policy, bytes.fromhex(manifest_sha), True)
    except NebsignError:
        return SignedBy("did not verify (not counted)", "unverified")


def dsse_pae(bundle: Bundle) -> bytes:
    from nebsign.bundle import DsseEnvelope

    assert isinstance(bundle.content, DsseEnvelope)
    return bundle.content.pae()


def _check_payload(
    root: Path, manifest: Manifest, refuse: Callable[[NebsignError, str], None]
) -> int | None:
    from nebsign.tree import verify_tree

    payload = root / "payload"
    if not payload.is_dir():
        return None
    diff = verify_tree(manifest, payload)
    try:
        diff.verify()
    except VerdictError as exc:
        refuse(exc, "payload/")
    return diff.checked
