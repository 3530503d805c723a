"""``nebsign verify``: check files or a signed manifest against trusted signers."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nebsign._internal.readlimit import read_bounded
from nebsign.cli._bundles import BUNDLE_SUFFIX, Bundles, find_bundles, read_all
from nebsign.cli._output import emit_json, format_option, own_files, quiet_option, shown, warn
from nebsign.digest import sha256_bytes, sha256_file
from nebsign.errors import InputError, NebsignError, VerdictError
from nebsign.policy import MAX_POLICY_BYTES

if TYPE_CHECKING:
    from nebsign.manifest import Manifest
    from nebsign.policy.trust import TrustedRoot, TrustPolicy
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


def _root(trusted_root: str | None, staging: bool, needed: bool) -> TrustedRoot | None:
    from nebsign.policy.trust import MAX_TRUSTED_ROOT_BYTES, TrustedRoot, bundled_trusted_root

    if trusted_root is not None:
        data = read_bounded(trusted_root, MAX_TRUSTED_ROOT_BYTES, "trusted root")
        return TrustedRoot(trusted_root, sha256_bytes(data), data)
    try:
        return bundled_trusted_root("staging" if staging else "production")
    except NebsignError:
        if needed or staging:
            raise
        return None  # key-only verification works without the bundled Sigstore root


def _policy(
    policy_file: str | None,
    keys: tuple[str, ...],
    identity: str | None,
    identity_regexp: str | None,
    issuer: str | None,
    trusted_root: str | None,
    staging: bool,
    threshold: int,
) -> TrustPolicy:
    from nebsign.keys import MAX_KEY_BYTES, key_id, load_public_key
    from nebsign.policy.trust import SignerGroup, TrustedIdentity, TrustedKey, TrustPolicy

    flags = bool(keys or identity or identity_regexp or issuer)
    if policy_file is not None:
        if flags or trusted_root or staging:
            raise InputError("--policy carries its own signers and root; drop --key/--identity")
        raw = read_bounded(policy_file, MAX_POLICY_BYTES, "policy")
        return TrustPolicy.from_toml(raw, Path(policy_file).parent, f"policy {policy_file}")
    if not flags:
        raise InputError(
            "no trusted signer given",
            hint="pass --key PUB, --identity ID --issuer URL, or --policy FILE",
        )
    if (identity or identity_regexp) and not issuer:
        raise InputError("--identity needs --issuer (the OIDC issuer URL)")
    if issuer and not (identity or identity_regexp):
        raise InputError("--issuer needs --identity or --identity-regexp")
    trusted = []
    for path in keys:
        public = load_public_key(read_bounded(path, MAX_KEY_BYTES, "public key"), f"key {path}")
        trusted.append(TrustedKey(key_id(public), public))
    identities = (TrustedIdentity(issuer, identity, identity_regexp),) if issuer is not None else ()
    group = SignerGroup("command line", tuple(trusted), identities, threshold)
    root = _root(trusted_root, staging, needed=bool(identities))
    return TrustPolicy(group, (group,), trusted_root=root)


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
@click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Trusted public key (repeatable).",
)
@click.option(
    "--identity",
    "--cert-identity",
    "identity",
    help="Trusted Sigstore certificate identity (exact).",
)
@click.option(
    "--identity-regexp",
    "--cert-identity-regexp",
    "identity_regexp",
    help="Trusted Sigstore identity as a regular expression (full match).",
)
@click.option("--issuer", "--cert-oidc-issuer", "issuer", help="OIDC issuer of --identity.")
@click.option(
    "--trusted-root",
    type=click.Path(dir_okay=False),
    help="Sigstore trusted_root.json to verify keyless bundles with (as cosign's).",
)
@click.option("--staging", is_flag=True, help="Use the bundled Sigstore staging trusted root.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    help="Trust policy TOML (keys, identities, threshold, pinned root).",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Distinct trusted signers required (with --key).",
)
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
    keys: tuple[str, ...],
    identity: str | None,
    identity_regexp: str | None,
    issuer: str | None,
    trusted_root: str | None,
    staging: bool,
    policy_file: str | None,
    threshold: int,
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
        policy = _policy(
            policy_file, keys, identity, identity_regexp, issuer, trusted_root, staging, threshold
        )
        if policy_file is not None and threshold != 1:
            raise InputError("--threshold applies to --key; a policy sets its own threshold")
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
