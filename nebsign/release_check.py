"""The one release check: manifest bytes, bundle bytes and trusted material in, verdict out.

python-tuf's ``TrustedMetadataSet`` is the model: this module does no I/O.
``nebsign verify --manifest`` and the host agent (``agent install``) read the
files (from disk, over HTTP) and hand the bytes to :func:`verify_release`;
both get the same verdict, the same errors and the same reason codes.

The protocol, in order (nothing is parsed before the signature over its
bytes verified):

1. the signature bundles over ``sha256(release.json)`` are judged by the trust
   policy (threshold, groups); a bundle that is malformed or does not verify
   counts for nothing: it is listed in :attr:`VerifiedRelease.ignored` and the
   rest are judged;
2. the manifest is parsed, then its name, version, expiry and size are
   checked against the :class:`ReleaseRequirements`;
3. every attestation bundle is verified; the statements that cover the
   manifest's digest satisfy the required predicate types (the host policy's
   ``[[require]]`` with verdicts and the trust policy's
   ``required_predicates``). A failing attestation counts for nothing too.

Each refusal is a :class:`~nebsign.errors.VerdictError` subclass with its
``reason`` code (the agent's audit log records it).

Example::

    release = verify_release(
        raw, [("release.json.sigstore.json", sig)], [("attestations/sast.sigstore.json", att)],
        trust, ReleaseRequirements(attestations=(RequiredAttestation(SAST_V1, "pass"),)),
        now=datetime.now(UTC),
    )
    release.manifest.version, release.signers, release.ignored
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from nebsign.digest import TooLarge, sha256_bytes
from nebsign.errors import InputError, VerdictError
from nebsign.verify import MissingAttestation  # the one class (also verify's)

if TYPE_CHECKING:
    from nebsign.attest import Statement
    from nebsign.bundle import Bundle
    from nebsign.manifest import Manifest
    from nebsign.policy.trust import TrustPolicy

# The manifest model is imported where a release is checked: `nebsign verify FILE`
# (key-based, an artifact) never parses a manifest.

__all__ = [
    "BundleInput",
    "IgnoredBundle",
    "MissingAttestation",
    "ReleaseExpired",
    "ReleaseRequirements",
    "RequiredAttestation",
    "SignatureRejected",
    "VerifiedRelease",
    "WrongRelease",
    "check_attestations",
    "verify_release",
]

#: (name shown in messages, the bundle file's bytes)
BundleInput = tuple[str, bytes]


class SignatureRejected(VerdictError):
    """No signature (or not enough of them) over release.json by the trusted signers."""

    reason: ClassVar[str] = "signature"


class ReleaseExpired(VerdictError):
    """The signed manifest's ``expires`` has passed (or it has none and one is required)."""

    reason: ClassVar[str] = "expired"


class WrongRelease(VerdictError):
    """The manifest is not for this release: no version, or another name."""

    reason: ClassVar[str] = "wrong-release"


@dataclass(frozen=True, slots=True)
class RequiredAttestation:
    """A verified statement of this predicate type must cover the release, with this
    verdict if one is given; without one, any verdict but ``"fail"`` (a statement that
    says no does not satisfy a requirement)."""

    predicate_type: str
    verdict: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseRequirements:
    """What a release must be, beyond being signed: the host policy's part, or the CLI's."""

    name: str | None = None
    require_version: bool = False
    require_expires: bool = False
    attestations: tuple[RequiredAttestation, ...] = ()
    max_files: int | None = None
    max_release_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class IgnoredBundle:
    """A bundle that counted for nothing, and why."""

    name: str
    kind: str  # "signature" or "attestation"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"bundle": self.name, "kind": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class VerifiedRelease:
    """A positive verdict: the parsed manifest, who signed it, the attestations that counted."""

    manifest: Manifest
    manifest_sha256: str
    signers: tuple[str, ...]
    attestations: tuple[str, ...]
    ignored: tuple[IgnoredBundle, ...] = ()

    @property
    def version(self) -> str:
        assert self.manifest.version is not None
        return self.manifest.version

    @property
    def name(self) -> str:
        return self.manifest.name or ""


def verify_release(
    manifest_raw: bytes,
    signature_bundles: Sequence[BundleInput],
    attestation_bundles: Sequence[BundleInput],
    trust: TrustPolicy,
    requirements: ReleaseRequirements,
    *,
    now: datetime,
    what: str = "release",
    manifest_name: str = "release.json",
    parse: Callable[[bytes], Manifest] | None = None,
) -> VerifiedRelease:
    """Judge one release; raise a :class:`VerdictError` (with ``reason``) or an InputError.

    *parse* turns the verified manifest bytes into a :class:`Manifest`
    (default :meth:`Manifest.from_json`; the CLI passes its tree check's
    parser, which returns the same manifest for the same bytes). *what*
    names the release in messages, *manifest_name* the manifest file.

    Bytes that are not a manifest at all are bad input (exit 2) whether or
    not anyone signed them: when the signatures are refused, the bytes are
    parsed only to tell the two apart, and nothing from them is used.
    """
    from nebsign.manifest import Manifest

    sha = sha256_bytes(manifest_raw)
    ignored: list[IgnoredBundle] = []
    try:
        signers = _verify_signatures(sha, signature_bundles, trust, now, what, ignored)
    except SignatureRejected:
        Manifest.from_json(manifest_raw, manifest_name)  # malformed: raises InputError
        raise
    manifest = parse(manifest_raw) if parse else Manifest.from_json(manifest_raw, manifest_name)
    _check_manifest(manifest, requirements, now, what)
    attestations, att_ignored = check_attestations(
        sha,
        attestation_bundles,
        trust,
        requirements.attestations,
        now=now,
        what=what,
        manifest=manifest,
    )
    return VerifiedRelease(manifest, sha, signers, attestations, (*ignored, *att_ignored))


def _bundle(raw: bytes, name: str) -> Bundle:
    from nebsign.bundle import Bundle

    return Bundle.from_json(raw, f"bundle {name}")


def _one_signer_view(trust: TrustPolicy) -> TrustPolicy:
    """*trust* with every group's threshold at 1: "does this one bundle count?"."""
    from nebsign.policy import AnyOf
    from nebsign.policy.trust import SignerGroup, TrustPolicy

    groups = tuple(
        SignerGroup(g.name, g.keys, g.identities, 1, g.require_tlog) for g in trust.groups
    )
    rule = groups[0] if len(groups) == 1 else AnyOf(groups)
    return TrustPolicy(rule, groups, trusted_root=trust.trusted_root)


def _verify_signatures(
    sha: str,
    inputs: Sequence[BundleInput],
    trust: TrustPolicy,
    now: datetime,
    what: str,
    ignored: list[IgnoredBundle],
) -> tuple[str, ...]:
    from nebsign.verify import verify_artifact

    if not inputs:
        raise SignatureRejected(f"{what}: release.json is not signed (no signature bundle found)")
    if len(inputs) == 1:  # its own error: wrong key, tampered, malformed (exit 2) ...
        name, raw = inputs[0]
        bundles = [_bundle(raw, name)]
    else:
        bundles = []
        single = _one_signer_view(trust)
        for name, raw in inputs:
            try:
                bundle = _bundle(raw, name)
                verify_artifact(sha, [bundle], single, now=now)
            except (VerdictError, InputError) as exc:
                ignored.append(IgnoredBundle(name, "signature", exc.diagnostics()))
                continue
            bundles.append(bundle)
        if not bundles:
            reasons = "; ".join(f"{i.name}: {i.message}" for i in ignored)
            raise SignatureRejected(
                f"{what}: signatures on release.json rejected: none of {len(inputs)} "
                f"bundles verifies ({reasons})"
            )
    try:
        verified = verify_artifact(sha, bundles, trust, now=now)
    except VerdictError as exc:
        raise SignatureRejected(
            f"{what}: signatures on release.json rejected: {exc.message}"
        ) from exc
    return tuple(sorted(str(s) for s in verified.signers))


def _check_manifest(manifest: Manifest, req: ReleaseRequirements, now: datetime, what: str) -> None:
    if req.require_version and manifest.version is None:
        raise WrongRelease(f"{what}: release.json names no version")
    if req.name is not None and manifest.name != req.name:
        raise WrongRelease(
            f"{what}: release.json is for {manifest.name!r}, this host installs {req.name!r}"
        )
    if manifest.expires is None:
        if req.require_expires:
            raise ReleaseExpired(
                f"{what}: release.json has no expiry and the host policy requires one"
            )
    elif manifest.is_expired(now):
        raise ReleaseExpired(
            f"{what}: signed manifest expired at {manifest.expires} "
            "(stale or frozen release refused)"
        )
    count = len(manifest.files) + len(manifest.symlinks)
    if req.max_files is not None and count > req.max_files:
        raise TooLarge(f"{what}: more than {req.max_files} files")
    if req.max_release_bytes is not None and manifest.total_size > req.max_release_bytes:
        raise TooLarge(
            f"{what}: payload of {manifest.total_size} bytes exceeds the host "
            f"limit of {req.max_release_bytes} bytes (oversized release)"
        )


def _statement(sha: str, name: str, raw: bytes, trust: TrustPolicy, now: datetime) -> Statement:
    from nebsign.verify import verify_attestation

    statement = verify_attestation(_bundle(raw, name), trust, now=now)
    if not statement.covers(sha):
        raise MissingAttestation(f"a {statement.predicate_type} statement is about other artifacts")
    return statement


def _coverage_problems(statement: Statement, manifest: Manifest) -> list[str]:
    """What a verified statement fails to cover of the release (a SAST verdict must
    have scanned the release's Python files, byte for byte)."""
    from nebsign.attest import SAST_V1

    if statement.predicate_type != SAST_V1:
        return []
    from nebsign.scancoverage import sast_coverage_problems

    return sast_coverage_problems(statement.predicate, manifest)


def check_attestations(
    sha256_hex: str,
    inputs: Sequence[BundleInput],
    trust: TrustPolicy,
    required: Sequence[RequiredAttestation] = (),
    *,
    now: datetime,
    what: str = "release",
    manifest: Manifest | None = None,
) -> tuple[tuple[str, ...], tuple[IgnoredBundle, ...]]:
    """Verify attestation bundles about *sha256_hex*; enforce *required* and the trust
    policy's ``required_predicates``.

    With the release's *manifest*, a SAST verdict counts only if the files it
    scanned cover the release's Python files, byte for byte (issue 18 item 6):
    a pass about other bytes is ignored, with the first file it misses.

    Returns the predicate types that counted and the bundles ignored (malformed,
    untrusted, about other artifacts). Raises :class:`MissingAttestation` when a
    required type (with its verdict) has no verified statement.
    """
    sha = sha256_hex.removeprefix("sha256:")
    ignored: list[IgnoredBundle] = []
    found: dict[str, set[str]] = {}
    notes: list[str] = []
    for name, raw in inputs:
        try:
            statement = _statement(sha, name, raw, trust, now)
        except (VerdictError, InputError) as exc:
            ignored.append(IgnoredBundle(name, "attestation", exc.diagnostics()))
            notes.append(exc.message)
            continue
        if manifest is not None:
            uncovered = _coverage_problems(statement, manifest)
            if uncovered:
                note = f"the SAST result does not cover the release: {uncovered[0]}"
                ignored.append(IgnoredBundle(name, "attestation", note))
                notes.append(note)
                continue
        verdict = statement.predicate.get("verdict")
        found.setdefault(statement.predicate_type, set()).add(
            verdict if isinstance(verdict, str) else ""
        )
    wanted = [*required, *(RequiredAttestation(p) for p in trust.required_predicates)]
    for item in wanted:
        have = found.get(item.predicate_type, set())
        if item.verdict in have or (item.verdict is None and have - {"fail"}):
            continue
        why = f"; ignored: {notes[0]}" if notes else ""
        want = f" with verdict {item.verdict!r}" if item.verdict else ""
        got = f" (found verdicts {sorted(have)})" if have else ""
        raise MissingAttestation(
            f"{what}: no verified {item.predicate_type} attestation{want} covers "
            f"release.json{got}{why}"
        )
    return tuple(sorted(found)), tuple(ignored)
