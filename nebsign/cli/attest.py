"""``nebsign attest create|verify``: signed in-toto statements about artifacts."""

from __future__ import annotations

import json

import click

from nebsign._internal.canonical import parse_json_object
from nebsign._internal.display import display_path
from nebsign._internal.readlimit import read_bounded
from nebsign.attest import MAX_STATEMENT_BYTES, NEBSIGN_PREDICATE_TYPES, Statement, Subject
from nebsign.cli._keyopts import load_signing_key, passphrase_fd_option
from nebsign.cli._output import emit_json, format_option, is_stdout, shown, write_output
from nebsign.cli._trustopts import trust_options
from nebsign.digest import sha256_file
from nebsign.policy.trust_input import TrustInput
from nebsign.signing import sign_statement


@click.group("attest")
def attest() -> None:
    """Wrap a result (SAST, DAST, audit, gate, provenance) as a signed statement.

    A statement (in-toto Statement v1) names artifacts by SHA-256 and carries a
    predicate of a versioned type; it is signed in a DSSE envelope inside a
    Sigstore bundle.

    \b
    Examples:
      nebsign attest create --type sast --predicate sast.json \\
          --subject dist/app.tar.gz --key release.key -o app.sast.sigstore.json
      nebsign attest verify app.sast.sigstore.json --key release.pub

    Short type names:
    """


attest.help = (
    (attest.help or "")
    + " "
    + ", ".join(f"{k} = {v}" for k, v in NEBSIGN_PREDICATE_TYPES.items())
    + "."
)


@attest.command("create")
@click.option(
    "--type",
    "predicate_type",
    required=True,
    help="Predicate type: a short name (sast, dast, audit, gate, slsa-provenance, "
    "manifest, report) or an https:// URI.",
)
@click.option(
    "--predicate",
    "predicate_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSON object file with the predicate (the result).",
)
@click.option(
    "--subject",
    "subjects",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="Artifact the statement is about (repeatable).",
)
@click.option(
    "--key", "key_file", required=True, type=click.Path(dir_okay=False), help="Private key file."
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the bundle ('-' for stdout). A device, FIFO or symlink is "
    "written through, never replaced.",
)
@passphrase_fd_option
@format_option
def create(
    predicate_type: str,
    predicate_file: str,
    subjects: tuple[str, ...],
    key_file: str,
    output: str,
    passphrase_fd: int | None,
    output_format: str,
) -> None:
    """Sign a statement that SUBJECTs have the given predicate.

    \b
    Example:
      nebsign attest create --type sast --predicate sast.json \\
          --subject dist/app.tar.gz --key release.key -o app.sast.sigstore.json
    """
    uri = NEBSIGN_PREDICATE_TYPES.get(predicate_type, predicate_type)
    predicate = parse_json_object(
        read_bounded(predicate_file, MAX_STATEMENT_BYTES, "predicate"),
        f"predicate {predicate_file}",
    )
    statement = Statement(
        tuple(Subject(s, sha256_file(s).sha256) for s in subjects), uri, predicate
    )
    if output is not None and is_stdout(output) and output_format == "json":
        raise click.UsageError("-o - and --format json would both write to stdout")
    private = load_signing_key(key_file, passphrase_fd)
    write_output(output, sign_statement(statement, private).to_json())
    if output_format == "json":
        emit_json({"bundle": output, "predicate_type": uri, "subjects": list(subjects)})
    else:
        where = "stdout" if output == "-" else shown(output)
        click.echo(
            f"attested {uri} for {len(subjects)} subject(s) -> {where}", err=is_stdout(output)
        )


@attest.command("verify")
@click.argument("bundle_file", type=click.Path(dir_okay=False))
@trust_options(attestations_only=True)
@click.option(
    "--subject",
    "subject",
    type=click.Path(dir_okay=False),
    help="Require the statement to be about this file.",
)
@click.option("--type", "predicate_type", help="Require this predicate type (name or URI).")
@format_option
def verify(
    bundle_file: str,
    trust: TrustInput,
    subject: str | None,
    predicate_type: str | None,
    output_format: str,
) -> None:
    """Verify an attestation bundle, then print its statement.

    The statement is parsed only after its signature verified with a trusted
    key or Sigstore identity; the trust flags are those of `nebsign verify`.

    \b
    Examples:
      nebsign attest verify app.sast.sigstore.json --key release.pub --subject dist/app.tar.gz
      nebsign attest verify prov.sigstore.json --type slsa-provenance \\
          --identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1 \\
          --issuer https://token.actions.githubusercontent.com
    """
    from nebsign.verify_files import verify_attestation_file

    statement = verify_attestation_file(
        bundle_file, trust, subject=subject, predicate_type=predicate_type
    )
    if output_format == "json":
        emit_json(statement.to_dict())
    else:
        click.echo(f"OK: {statement.predicate_type}")
        for name, sha in statement.subjects:
            click.echo(f"  subject {display_path(name)} sha256:{sha}")
        click.echo(json.dumps(statement.predicate, indent=2, sort_keys=True))
