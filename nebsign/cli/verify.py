"""``nebsign verify``: check files or a signed manifest against trusted signers."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from nebsign._internal.readlimit import read_bounded
from nebsign.cli._bundles import BUNDLE_SUFFIX, Bundles, find_bundles, read_all
from nebsign.cli._output import emit_json, format_option, own_files, quiet_option, shown, warn
from nebsign.cli._trustopts import trust_options
from nebsign.digest import sha256_file
from nebsign.errors import InputError, NebsignError, VerdictError
from nebsign.policy.trust_input import TrustInput, load_trust_policy

if TYPE_CHECKING:
    from nebsign.manifest import Manifest
    from nebsign.policy.trust import TrustPolicy
    from nebsign.release_check import IgnoredBundle
    from nebsign.tree import TreeCheck, TreeDiff

# The signing stack (cryptography, bundle and policy models: ~40 ms of
# imports) is imported where it is used, so commands that never verify a
# signature do not pay for it.


@dataclass
class _Outcome:
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
    output_format: str,
    started: TreeCheck | None,
) -> list[_Outcome]:
    """Each FILE's outcome; a single file in text mode raises its error directly."""
    if len(pairs) == 1 and output_format == "text":
        return [_verify_one(pairs[0][0], pairs[0][1], policy, manifest, root, started)]
    outcomes = []
    for i, (path, found) in enumerate(pairs):
        try:
            first = started if i == 0 else None
            outcomes.append(_verify_one(path, found, policy, manifest, root, first))
        except NebsignError as exc:
            outcomes.append(_Outcome(path, None, (), exc))
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
) -> _Outcome:
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
    return _Outcome(
        path,
        release.manifest_sha256,
        release.signers,
        None,
        f"{diffs[0].checked} entries match",
        release.attestations,
        release.ignored,
    )


def _verify_artifact(path: str, found: Bundles, policy: TrustPolicy, now: datetime) -> _Outcome:
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
    return _Outcome(path, digest, verified.signers, None, detail, attested, ignored)


@click.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=click.Path(dir_okay=False),
    help=f"Bundle to check (repeatable). Default: FILE{BUNDLE_SUFFIX}, and with "
    f"--manifest the signatures/*{BUNDLE_SUFFIX} beside FILE (the release layout).",
)
@trust_options()
@click.option(
    "--manifest",
    "manifest",
    is_flag=True,
    help="FILE is a signed release.json: verify its signature, then the tree.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="With --manifest: the release directory (default: the manifest's).",
)
@click.option(
    "--attestation",
    "attestations",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Attestation bundle about FILE (repeatable); with --manifest, the "
    "attestations/*.sigstore.json next to FILE are read too. The policy's "
    "required_predicates must each be covered.",
)
@format_option
@quiet_option
def verify(
    files: tuple[str, ...],
    bundles: tuple[str, ...],
    trust: TrustInput,
    manifest: bool,
    root: str | None,
    attestations: tuple[str, ...],
    output_format: str,
    quiet: bool,
) -> None:
    """Verify FILEs against their Sigstore bundles and the signers you trust.

    The verifying key always comes from --key or --policy, never from the
    bundle. Keyless bundles verify offline against a pinned trusted root
    (the production root bundled with nebsign, --staging, or --trusted-root).

    \b
    Examples:
      nebsign verify dist/app.tar.gz --key release.pub
      nebsign verify a.tar.gz b.tar.gz --key release.pub        # each FILE.sigstore.json
      nebsign verify app.tar.gz --bundle s1.json --bundle s2.json \\
          --key k1.pub --key k2.pub --threshold 2
      nebsign verify rel/release.json --manifest --root rel/payload \\
          --policy policies/trust-example.toml   # + rel/signatures/, rel/attestations/
      nebsign verify app.tar.gz --key release.pub --attestation app.sast.sigstore.json
      nebsign verify app.whl --bundle app.whl.sigstore \\
          --cert-identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1 \\
          --cert-oidc-issuer https://token.actions.githubusercontent.com

    With --manifest, FILE is checked like a host checks a release (one
    release check): the signatures (a malformed or failing extra bundle
    counts for nothing and is reported as ignored), the expiry, the
    attestations the policy requires, then every file of the tree.

    Exit 0 if every FILE verifies, 1 if any is refused (each is reported),
    2 for malformed input.
    """
    pairs = find_bundles(files, bundles, attestations, manifest)
    with contextlib.ExitStack() as stack:
        started = None
        if manifest and len(files) == 1 and os.path.isfile(files[0]):
            # The tree check is set up here but reads nothing until the
            # manifest's signature has verified (ADR 0006).
            started = stack.enter_context(_tree_check(files[0], pairs[0][1].all(), root))
        policy = load_trust_policy(trust)
        outcomes = _verify_all(pairs, policy, manifest, root, output_format, started)
    failed = [o for o in outcomes if o.error is not None]
    if output_format == "json":
        emit_json(
            {
                "ok": not failed,
                "policy": policy.digest or None,
                "results": [
                    {
                        "file": o.file,
                        "ok": o.error is None,
                        "sha256": o.sha256,
                        "signers": list(o.signers),
                        "error": None if o.error is None else o.error.diagnostics(),
                        "reason": None if o.error is None else o.error.reason,
                        "exit_code": 0 if o.error is None else o.error.exit_code,
                        "attestations": list(o.attestations),
                        "ignored": [i.to_dict() for i in o.ignored],
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        for o in outcomes:
            if o.error is not None:
                click.echo(f"FAIL {shown(o.file)}: {shown(o.error.diagnostics())}")
                continue
            for i in o.ignored:
                warn(
                    f"{shown(o.file)}: ignored {i.kind} bundle {shown(i.name)}: {shown(i.message)}"
                )
            if not quiet:
                extra = f"; {o.detail}" if o.detail else ""
                if o.attestations:
                    extra += f"; attested: {', '.join(o.attestations)}"
                click.echo(f"OK   {shown(o.file)}: signed by {', '.join(o.signers)}{extra}")
    if failed:
        if len(outcomes) == 1 and failed[0].error is not None:
            raise failed[0].error
        worst = max(o.error.exit_code for o in failed if o.error is not None)
        summary = f"{len(failed)} of {len(outcomes)} files failed verification"
        if worst == InputError.exit_code:
            raise InputError(summary + " (malformed input among them)")
        raise VerdictError(summary)
