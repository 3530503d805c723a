"""``nebsign verify``: check files or a signed manifest against trusted signers."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nebsign._internal.display import display_path
from nebsign._internal.readlimit import read_bounded
from nebsign.cli._output import emit_json, format_option, inside, quiet_option
from nebsign.digest import sha256_bytes, sha256_file
from nebsign.errors import InputError, NebsignError, VerdictError

if TYPE_CHECKING:
    from nebsign.policy.trust import TrustedRoot, TrustPolicy
    from nebsign.tree import TreeCheck

# The signing stack (cryptography, bundle and policy models: ~40 ms of
# imports) is imported where it is used, so commands that never verify a
# signature do not pay for it.

BUNDLE_SUFFIX = ".sigstore.json"
MAX_POLICY_FILE = 1024 * 1024


class ManifestExpired(VerdictError):
    """The signed manifest's ``expires`` time has passed."""


@dataclass
class _Outcome:
    file: str
    sha256: str | None
    signers: tuple[str, ...]
    error: NebsignError | None
    detail: str = ""


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
        raw = read_bounded(policy_file, MAX_POLICY_FILE, "policy")
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
    files: tuple[str, ...],
    bundles: tuple[str, ...],
    policy: TrustPolicy,
    manifest: bool,
    root: str | None,
    output_format: str,
    started: TreeCheck | None,
) -> list[_Outcome]:
    """Each FILE's outcome; a single file in text mode raises its error directly."""
    pairs = _pairs(files, bundles)
    if len(pairs) == 1 and output_format == "text":
        return [_verify_one(pairs[0][0], pairs[0][1], policy, manifest, root, started)]
    outcomes = []
    for i, (path, paths) in enumerate(pairs):
        try:
            first = started if i == 0 else None
            outcomes.append(_verify_one(path, paths, policy, manifest, root, first))
        except NebsignError as exc:
            outcomes.append(_Outcome(path, None, (), exc))
    return outcomes


def _pairs(files: tuple[str, ...], bundles: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    if not bundles:
        return [(f, [f + BUNDLE_SUFFIX]) for f in files]
    if len(files) == 1:
        return [(files[0], list(bundles))]
    if len(bundles) != len(files):
        raise InputError(
            f"{len(files)} files but {len(bundles)} --bundle options: give one bundle per file "
            "(in order), several bundles for one file, or none (FILE.sigstore.json)"
        )
    return [(f, [b]) for f, b in zip(files, bundles, strict=True)]


def _tree_check(path: str, bundle_paths: list[str], root: str | None) -> TreeCheck:
    """The check of a signed manifest's tree (the manifest and its bundles left out)."""
    from nebsign.tree import TreeCheck

    tree = root if root is not None else (os.path.dirname(path) or ".")
    skip = {rel for rel in (inside(p, tree) for p in [path, *bundle_paths]) if rel is not None}
    return TreeCheck(tree, exclude=frozenset(skip))


def _verify_one(
    path: str,
    bundle_paths: list[str],
    policy: TrustPolicy,
    manifest: bool,
    root: str | None,
    started: TreeCheck | None = None,
) -> _Outcome:
    from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
    from nebsign.verify import verify_artifact

    if not os.path.isfile(path):
        raise InputError(f"cannot verify {path}: not a regular file")
    bundles = [
        Bundle.from_json(read_bounded(b, MAX_BUNDLE_BYTES, "bundle"), f"bundle {b}")
        for b in bundle_paths
    ]
    now = datetime.now(UTC)
    if not manifest:
        digest = sha256_file(path).sha256
        # a DSSE bundle counts when its statement names the file (cosign verify-blob-attestation)
        verified = verify_artifact(digest, bundles, policy, now=now, attestations=True)
        detail = ", ".join(f"attestation {s.predicate_type}" for s in verified.statements)
        return _Outcome(path, digest, verified.signers, None, detail)
    from nebsign.manifest import MAX_MANIFEST_BYTES

    raw = read_bounded(path, MAX_MANIFEST_BYTES, "manifest")
    digest = sha256_bytes(raw)
    verified = verify_artifact(digest, bundles, policy, now=now)
    # Parsed, and the tree read, only now that its signature verified: only
    # files it names, at the size it names (ADR 0006).
    with contextlib.ExitStack() as stack:
        check = started or stack.enter_context(_tree_check(path, bundle_paths, root))
        parsed, diff = check.compare(raw, what=path)
    if parsed.is_expired(now):
        raise ManifestExpired(f"expired: manifest {path} expired at {parsed.expires}")
    diff.verify()
    return _Outcome(path, digest, verified.signers, None, f"{diff.checked} entries match")


@click.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--bundle",
    "bundles",
    multiple=True,
    type=click.Path(dir_okay=False),
    help=f"Bundle to check (repeatable). Default: FILE{BUNDLE_SUFFIX}.",
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
      nebsign verify release.json --manifest --policy policies/trust.toml
      nebsign verify app.whl --bundle app.whl.sigstore \\
          --cert-identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1 \\
          --cert-oidc-issuer https://token.actions.githubusercontent.com

    Exit 0 if every FILE verifies, 1 if any is refused (each is reported),
    2 for malformed input.
    """
    with contextlib.ExitStack() as stack:
        started = None
        if manifest and len(files) == 1 and os.path.isfile(files[0]):
            # The tree check is set up here but reads nothing until the
            # manifest's signature has verified (ADR 0006).
            paths = list(bundles) or [files[0] + BUNDLE_SUFFIX]
            started = stack.enter_context(_tree_check(files[0], paths, root))
        policy = _policy(
            policy_file, keys, identity, identity_regexp, issuer, trusted_root, staging, threshold
        )
        if policy_file is not None and threshold != 1:
            raise InputError("--threshold applies to --key; a policy sets its own threshold")
        outcomes = _verify_all(files, bundles, policy, manifest, root, output_format, started)
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
                        "exit_code": 0 if o.error is None else o.error.exit_code,
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        for o in outcomes:
            if o.error is not None:
                click.echo(f"FAIL {display_path(o.file)}: {o.error.diagnostics()}")
            elif not quiet:
                extra = f"; {o.detail}" if o.detail else ""
                click.echo(f"OK   {display_path(o.file)}: signed by {', '.join(o.signers)}{extra}")
    if failed:
        if len(outcomes) == 1 and failed[0].error is not None:
            raise failed[0].error
        worst = max(o.error.exit_code for o in failed if o.error is not None)
        summary = f"{len(failed)} of {len(outcomes)} files failed verification"
        if worst == InputError.exit_code:
            raise InputError(summary + " (malformed input among them)")
        raise VerdictError(summary)
