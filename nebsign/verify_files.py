"""``nebsign verify`` as one library call: each FILE, its bundles, its verdict.

A FILE's bundles are given (``--bundle``, ``--attestation``) or found where a
release layout puts them (``FILE.sigstore.json``; with ``manifest`` also
``signatures/`` and ``attestations/`` beside FILE), read bounded. An artifact is
verified by digest; a signed manifest like a host checks a release (one release
check: signatures, expiry, required attestations), then every file of its tree.
The tree check may start hashing before the signature verified, but nothing is
parsed from the manifest until it has (ADR 0006).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nebsign._internal.readlimit import read_bounded
from nebsign.digest import sha256_file
from nebsign.errors import InputError, NebsignError, VerdictError
from nebsign.policy.trust_input import TrustInput, load_trust_policy

if TYPE_CHECKING:
    from nebsign.attest import Statement
    from nebsign.manifest import Manifest
    from nebsign.policy.trust import TrustPolicy
    from nebsign.release_check import BundleInput, IgnoredBundle
    from nebsign.tree import TreeCheck, TreeDiff

__all__ = [
    "BUNDLE_SUFFIX",
    "Bundles",
    "FileOutcome",
    "VerifyOutcome",
    "find_bundles",
    "own_files",
    "read_all",
    "verify_attestation_file",
    "verify_files",
]

# The signing stack (cryptography, bundle and policy models: ~40 ms of
# imports) is imported where it is used, so commands that never verify a
# signature do not pay for it.

BUNDLE_SUFFIX = ".sigstore.json"


@dataclass(frozen=True)
class Bundles:
    """The bundle files of one FILE: signatures and attestations."""

    signatures: list[str]
    attestations: list[str]

    def all(self) -> list[str]:
        return [*self.signatures, *self.attestations]


def _listed(directory: str) -> list[str]:
    """The ``*.sigstore.json`` files of a release layout's bundle directory (sorted)."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise InputError(f"cannot list {directory}: {exc.strerror or exc}") from exc
    return [os.path.join(directory, n) for n in sorted(names) if n.endswith(BUNDLE_SUFFIX)]


def find_bundles(
    files: tuple[str, ...], bundles: tuple[str, ...], attestations: tuple[str, ...], manifest: bool
) -> list[tuple[str, Bundles]]:
    """Each FILE with its bundles.

    Without --bundle: FILE.sigstore.json, and with --manifest the release
    layout's ``signatures/`` and ``attestations/`` next to FILE.
    """
    if attestations and len(files) != 1:
        raise InputError("--attestation needs exactly one FILE")
    if bundles and len(files) != 1 and len(bundles) != len(files):
        raise InputError(
            f"{len(files)} files but {len(bundles)} --bundle options: give one bundle per file "
            "(in order), several bundles for one file, or none (FILE.sigstore.json)"
        )
    out = []
    for i, path in enumerate(files):
        here = os.path.dirname(path)
        if len(files) == 1 and bundles:
            sigs = list(bundles)
        elif bundles:
            sigs = [bundles[i]]
        else:
            default = path + BUNDLE_SUFFIX
            more = _listed(os.path.join(here, "signatures")) if manifest else []
            # FILE.sigstore.json may be absent when signatures/ holds the bundles
            sigs = [default] if os.path.lexists(default) or not more else []
            sigs += more
        atts = list(attestations)
        if manifest:
            atts += [a for a in _listed(os.path.join(here, "attestations")) if a not in atts]
        out.append((path, Bundles(sigs, atts)))
    return out


def read_all(paths: list[str]) -> list[BundleInput]:
    from nebsign.bundle import MAX_BUNDLE_BYTES

    return [(p, read_bounded(p, MAX_BUNDLE_BYTES, "bundle")) for p in paths]


def own_files(tree: str, paths: list[str]) -> frozenset[str]:
    """The relative paths of *paths* that lie inside *tree* (symlinks resolved): a
    command's own files (the manifest, its bundles), left out of the tree they describe."""
    real_tree = os.path.realpath(tree)
    out = set()
    for path in paths:
        real = os.path.realpath(path)
        if real != real_tree and os.path.commonpath([real, real_tree]) == real_tree:
            out.add(os.path.relpath(real, real_tree))
    return frozenset(out)


@dataclass
class FileOutcome:
    """One FILE's verdict: its digest and signers, or the error that refused it."""

    file: str
    sha256: str | None
    signers: tuple[str, ...]
    error: NebsignError | None
    detail: str = ""
    attestations: tuple[str, ...] = ()
    ignored: tuple[IgnoredBundle, ...] = ()


def _verify_all(
    pairs: list[tuple[str, Bundles]],
    policy: TrustPolicy,
    manifest: bool,
    root: str | None,
    collect: bool,
    started: TreeCheck | None,
) -> list[FileOutcome]:
    """Each FILE's outcome; a single file, unless *collect*, raises its error directly."""
    if len(pairs) == 1 and not collect:
        return [_verify_one(pairs[0][0], pairs[0][1], policy, manifest, root, started)]
    outcomes = []
    for i, (path, found) in enumerate(pairs):
        try:
            first = started if i == 0 else None
            outcomes.append(_verify_one(path, found, policy, manifest, root, first))
        except NebsignError as exc:
            outcomes.append(FileOutcome(path, None, (), exc))
    return outcomes


def _tree_check(path: str, bundle_paths: list[str], root: str | None) -> TreeCheck:
    """The check of a signed manifest's tree (the manifest and its bundles left out)."""
    from nebsign.tree import TreeCheck

    tree = root if root is not None else (os.path.dirname(path) or ".")
    return TreeCheck(tree, exclude=own_files(tree, [path, *bundle_paths]), skip_bundles=True)


def _verify_one(
    path: str,
    found: Bundles,
    policy: TrustPolicy,
    manifest: bool,
    root: str | None,
    started: TreeCheck | None = None,
) -> FileOutcome:
    if not os.path.isfile(path):
        raise InputError(
            f"cannot verify {path}: no such file"
            if not os.path.lexists(path)
            else f"cannot verify {path}: not a regular file"
        )
    now = datetime.now(UTC)
    if not manifest:
        return _verify_artifact(path, found, policy, now)
    from nebsign.manifest import MAX_MANIFEST_BYTES
    from nebsign.release_check import ReleaseRequirements, verify_release

    raw = read_bounded(path, MAX_MANIFEST_BYTES, "manifest")
    sigs, atts = read_all(found.signatures), read_all(found.attestations)
    diffs: list[TreeDiff] = []
    with contextlib.ExitStack() as stack:
        check = started or stack.enter_context(_tree_check(path, found.all(), root))

        def parse(verified: bytes) -> Manifest:
            # Called only once the signature over these bytes verified (the
            # tree may have been hashing meanwhile: `started`).
            parsed, diff = check.compare(verified, what=path)
            diffs.append(diff)
            return parsed

        release = verify_release(
            raw, sigs, atts, policy, ReleaseRequirements(), now=now,
            what=f"manifest {path}", manifest_name=path, parse=parse,
        )  # fmt: skip
    diffs[0].verify()
    return FileOutcome(
        path,
        release.manifest_sha256,
        release.signers,
        None,
        f"{diffs[0].checked} entries match",
        release.attestations,
        release.ignored,
    )


def _verify_artifact(path: str, found: Bundles, policy: TrustPolicy, now: datetime) -> FileOutcome:
    from nebsign.bundle import Bundle
    from nebsign.release_check import check_attestations
    from nebsign.verify import verify_artifact

    bundles = [Bundle.from_json(raw, f"bundle {p}") for p, raw in read_all(found.signatures)]
    digest = sha256_file(path).sha256
    # a DSSE bundle counts when its statement names the file (cosign verify-blob-attestation)
    verified = verify_artifact(digest, bundles, policy, now=now, attestations=True)
    detail = ", ".join(f"attestation {s.predicate_type}" for s in verified.statements)
    attested: tuple[str, ...] = ()
    ignored: tuple[IgnoredBundle, ...] = ()
    if found.attestations or policy.required_predicates:
        attested, ignored = check_attestations(
            digest, read_all(found.attestations), policy, now=now, what=path
        )
    return FileOutcome(path, digest, verified.signers, None, detail, attested, ignored)


@dataclass
class VerifyOutcome:
    """Every FILE's outcome, and the digest of the trust policy they were judged by."""

    policy_digest: str | None
    outcomes: list[FileOutcome]

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    def raise_for_verdict(self) -> None:
        """One refused FILE raises its own error; several, a summary (exit 2 when
        malformed input is among them, else 1)."""
        failed = self.failed
        if not failed:
            return
        if len(self.outcomes) == 1 and failed[0].error is not None:
            raise failed[0].error
        worst = max(o.error.exit_code for o in failed if o.error is not None)
        summary = f"{len(failed)} of {len(self.outcomes)} files failed verification"
        if worst == InputError.exit_code:
            raise InputError(summary + " (malformed input among them)")
        raise VerdictError(summary)


def verify_files(
    files: tuple[str, ...],
    trust: TrustInput,
    *,
    bundles: tuple[str, ...] = (),
    attestations: tuple[str, ...] = (),
    manifest: bool = False,
    root: str | None = None,
    collect: bool = True,
) -> VerifyOutcome:
    """Verify each of *files* against its bundles and the signers *trust* names.

    With *collect*, every FILE gets an outcome (refusals included); without it a
    single FILE's refusal is raised as it is.
    """
    pairs = find_bundles(files, bundles, attestations, manifest)
    with contextlib.ExitStack() as stack:
        started = None
        if manifest and len(files) == 1 and os.path.isfile(files[0]):
            # The tree check is set up here but reads nothing until the
            # manifest's signature has verified (ADR 0006).
            started = stack.enter_context(_tree_check(files[0], pairs[0][1].all(), root))
        policy = load_trust_policy(trust)
        outcomes = _verify_all(pairs, policy, manifest, root, collect, started)
    return VerifyOutcome(policy.digest or None, outcomes)


def verify_attestation_file(
    bundle_file: str,
    trust: TrustInput,
    *,
    subject: str | None = None,
    predicate_type: str | None = None,
) -> Statement:
    """The statement of the attestation bundle in *bundle_file*, parsed only after its
    signature verified by one signer *trust* names; it must be of *predicate_type*
    (a name such as ``sast`` or a URI) and about the file *subject*, when given."""
    from nebsign.attest import NEBSIGN_PREDICATE_TYPES
    from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
    from nebsign.verify import MissingAttestation, verify_attestation

    policy = load_trust_policy(trust, threshold_applies=False)
    bundle = Bundle.from_json(
        read_bounded(bundle_file, MAX_BUNDLE_BYTES, "bundle"), f"bundle {bundle_file}"
    )
    statement = verify_attestation(bundle, policy)
    if predicate_type is not None:
        wanted = NEBSIGN_PREDICATE_TYPES.get(predicate_type, predicate_type)
        if statement.predicate_type != wanted:
            raise MissingAttestation(
                f"attestation is {statement.predicate_type}, expected {wanted}"
            )
    if subject is not None:
        digest = sha256_file(subject).sha256
        if not statement.covers(digest):
            raise MissingAttestation(f"attestation is not about {subject} (sha256:{digest})")
    return statement
