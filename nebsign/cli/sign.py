"""``nebsign sign``: sign artifacts or manifests into Sigstore bundles."""

from __future__ import annotations

import os

import click

from nebsign.cli._keyopts import load_signing_key, passphrase_fd_option
from nebsign.cli._output import emit_json, format_option, is_stdout, shown, write_output
from nebsign.errors import InputError
from nebsign.signing import artifact_digest, sign_digest, sign_digest_sigstore
from nebsign.verify_files import BUNDLE_SUFFIX


@click.command("sign")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--key", "key_file", type=click.Path(dir_okay=False), help="Private key file.")
@click.option(
    "--sigstore",
    "keyless",
    is_flag=True,
    help="Sign keyless with Sigstore (OIDC + Fulcio + Rekor). Needs the network.",
)
@click.option("--staging", is_flag=True, help="With --sigstore: use Sigstore's staging instance.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help=f"Bundle path (only with one FILE; default FILE{BUNDLE_SUFFIX}; '-' for stdout). "
    "A device, FIFO or symlink is written through, never replaced.",
)
@passphrase_fd_option
@format_option
def sign(
    files: tuple[str, ...],
    key_file: str | None,
    keyless: bool,
    staging: bool,
    output: str | None,
    passphrase_fd: int | None,
    output_format: str,
) -> None:
    """Sign each FILE (an artifact or a release.json manifest).

    Writes FILE.sigstore.json: a Sigstore bundle v0.3 with a messageSignature
    over FILE's SHA-256 and the signer's key id as publicKey.hint (the shape
    `cosign sign-blob --key` writes). Bundles are deterministic: the same key
    and file give the same bytes.

    \b
    Examples:
      nebsign sign dist/app.tar.gz --key release.key
      nebsign sign release.json --key release.key       # sign a manifest
      nebsign sign dist/app.tar.gz --sigstore           # keyless; needs the network
      nebsign sign app.tar.gz --key release.key -o - | jq .   # the bundle on stdout

    The identity token for --sigstore is taken from $SIGSTORE_IDENTITY_TOKEN,
    the CI environment (e.g. GitHub Actions), or an interactive browser flow.
    """
    if keyless == (key_file is not None):
        raise InputError("give exactly one of --key KEY and --sigstore")
    if staging and not keyless:
        raise InputError("--staging only applies to --sigstore")
    if output is not None and len(files) != 1:
        raise InputError("--output needs exactly one FILE")
    if output is not None and is_stdout(output) and output_format == "json":
        raise click.UsageError("-o - and --format json would both write to stdout")
    for path in files:  # before the passphrase is asked for
        if not os.path.lexists(path):
            raise InputError(f"cannot sign {path}: no such file")
        if not os.path.isfile(path):
            raise InputError(f"cannot sign {path}: not a regular file")
    private = None if key_file is None else load_signing_key(key_file, passphrase_fd)
    results = []
    for path in files:
        digest = artifact_digest(path).sha256  # refuses bytes that look like a DSSE message
        if private is not None:
            bundle = sign_digest(digest, private)
        else:
            token = os.environ.get("SIGSTORE_IDENTITY_TOKEN")
            bundle = sign_digest_sigstore(digest, staging=staging, identity_token=token)
        target = output or f"{path}{BUNDLE_SUFFIX}"
        write_output(target, bundle.to_json())
        results.append({"file": path, "sha256": digest, "bundle": target})
        if output_format == "text":
            shown_target = "stdout" if target == "-" else shown(target)
            # the bundle owns stdout with -o -: the note goes to stderr
            click.echo(
                f"signed {shown(path)} (sha256:{digest}) -> {shown_target}", err=is_stdout(target)
            )
    if output_format == "json":
        emit_json(results)
