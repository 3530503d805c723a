"""``nebsign verify``: check files or a signed manifest against trusted signers."""

from __future__ import annotations

import click

from nebsign.cli._output import emit_json, format_option, quiet_option, shown, warn
from nebsign.cli._trustopts import trust_options
from nebsign.policy.trust_input import TrustInput
from nebsign.verify_files import BUNDLE_SUFFIX


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
    from nebsign.verify_files import verify_files

    result = verify_files(
        files,
        trust,
        bundles=bundles,
        attestations=attestations,
        manifest=manifest,
        root=root,
        collect=output_format != "text",
    )
    outcomes = result.outcomes
    if output_format == "json":
        emit_json(
            {
                "ok": not result.failed,
                "policy": result.policy_digest,
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
    result.raise_for_verdict()
