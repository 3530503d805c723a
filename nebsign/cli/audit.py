"""``nebsign audit import|check|scan``: third-party audits and Slither, judged by policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nebsign._internal.atomic import atomic_write
from nebsign.cli._output import emit_json, format_option
from nebsign.errors import InputError

if TYPE_CHECKING:
    from nebsign.audit.check import AuditVerdict

F = TypeVar("F", bound=Callable[..., Any])
_FORMATS = ["nebsign", "slither", "sarif", "contest"]


def _common(func: F) -> F:
    """--policy, --sarif, --attest, --key, --passphrase-fd, --format."""
    for decorator in reversed(
        [
            click.option(
                "--policy",
                "policy_path",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="Policy TOML with an [audit] table (default: the bundled default policy).",
            ),
            click.option(
                "--sarif",
                "sarif_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Also write the findings as SARIF 2.1.0 here.",
            ),
            click.option(
                "--attest",
                "attest_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the result as a signed in-toto statement (AUDIT_V1 bundle) here.",
            ),
            click.option(
                "--key",
                "key_path",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="Private key for --attest (passphrase from NEBSIGN_PASSPHRASE or a prompt).",
            ),
            click.option(
                "--passphrase-fd",
                type=click.IntRange(min=0),
                metavar="N",
                help="Read the --key passphrase from file descriptor N (else $NEBSIGN_PASSPHRASE, "
                "else a prompt). Never on the command line.",
            ),
            format_option,
        ]
    ):
        func = decorator(func)
    return func


def _input_format(func: F) -> F:
    return click.option(
        "--input-format",
        "input_format",
        type=click.Choice(_FORMATS),
        help="Format of every FILE (default: detected per file).",
    )(func)


def _finish(
    verdict: AuditVerdict,
    *,
    output_format: str,
    sarif_path: Path | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
    manifest: tuple[str, str] | None = None,
) -> None:
    from nebsign.audit.policy import AuditGateFailed
    from nebsign.audit.report import format_text, result_dict, sarif_log, statement
    from nebsign.sarif import sarif_bytes

    if sarif_path is not None:
        atomic_write(sarif_path, sarif_bytes(sarif_log(verdict)))
    if attest_path is not None:
        assert key_path is not None
        from nebsign.cli._keyopts import load_signing_key
        from nebsign.signing import sign_statement

        stmt = statement(verdict, manifest)
        bundle = sign_statement(stmt, load_signing_key(str(key_path), passphrase_fd))
        atomic_write(attest_path, bundle.to_json())
    if output_format == "json":
        emit_json(result_dict(verdict, manifest))
    else:
        click.echo(format_text(verdict), nl=False)
    if not verdict.passed:
        raise AuditGateFailed(verdict.reason())


def _need_key(attest_path: Path | None, key_path: Path | None) -> None:
    if attest_path is not None and key_path is None:
        raise click.UsageError("--attest needs --key")


@click.group("audit")
def audit() -> None:
    """Third-party smart-contract audits: import findings, check the release, scan.

    \b
    Examples:
      nebsign audit import examples/audits/vault-audit.toml
      nebsign audit check --manifest release.json examples/audits/vault-audit.toml
      nebsign audit scan examples/release/contracts
    """


@audit.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@_input_format
@_common
def import_cmd(
    files: tuple[Path, ...],
    input_format: str | None,
    policy_path: Path | None,
    sarif_path: Path | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
    output_format: str,
) -> None:
    """Import audit findings into nebsign's finding model; exit 1 if open ones fail the policy.

    \b
    FILE formats (detected): nebsign's audit file (TOML/JSON, schema in
    nebsign/_schemas/audit-file-v1.json), Slither JSON (`slither . --json`),
    SARIF 2.1.0 from any contract analyser, Code4rena/Sherlock Markdown reports.

    \b
    Examples:
      nebsign audit import examples/audits/vault-audit.toml
      nebsign audit import slither.json --sarif audit.sarif --format json
      nebsign audit import audit.toml --attest audit.sigstore.json --key release.key

    \b
    Exit codes: 0 passed, 1 an open finding at level FAIL, 2 bad input, 3 environment.
    """
    from nebsign.audit.service import import_audits, load_policy

    _need_key(attest_path, key_path)
    verdict = import_audits(files, load_policy(policy_path), input_format)
    _finish(
        verdict,
        output_format=output_format,
        sarif_path=sarif_path,
        attest_path=attest_path,
        key_path=key_path,
        passphrase_fd=passphrase_fd,
    )


@audit.command("check")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--manifest",
    "manifest_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The release manifest (nebsign manifest create) whose files are checked.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The release directory: lets files an audit lists only by SHA-1 be compared.",
)
@_input_format
@_common
def check_cmd(
    files: tuple[Path, ...],
    manifest_path: Path,
    root: Path | None,
    input_format: str | None,
    policy_path: Path | None,
    sarif_path: Path | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
    output_format: str,
) -> None:
    """Does the release ship exactly the audited bytes? Exit 1 if the policy says no.

    Lists every file under the policy's audit-required paths ([audit] required,
    e.g. contracts/**) that no audit covers, every file whose SHA-256 differs
    from the audited one, files an audit names only by SHA-1 (weaker
    evidence), and every open finding at level FAIL; [audit] fail_on decides
    which of these fail.

    \b
    Examples:
      nebsign manifest create release/ -o release.json
      nebsign audit check --manifest release.json examples/audits/vault-audit.toml
      nebsign audit check --manifest release.json audit.toml --format json

    \b
    Exit codes: 0 passed, 1 uncovered/drifted/open (per policy), 2 bad input, 3 environment.
    """
    from nebsign.audit.service import check_audits, load_policy

    _need_key(attest_path, key_path)
    result = check_audits(
        manifest_path, files, load_policy(policy_path), root=root, fmt=input_format
    )
    _finish(
        result.verdict,
        output_format=output_format,
        sarif_path=sarif_path,
        attest_path=attest_path,
        key_path=key_path,
        passphrase_fd=passphrase_fd,
        manifest=(result.manifest_name, result.manifest_digest),
    )


@audit.command("scan")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory finding paths are relative to (default: the current directory).",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Baseline TOML of accepted findings by fingerprint (same format as SAST's).",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a baseline accepting every open finding (needs --who, --why), then exit 0.",
)
@click.option("--who", help="Who accepts (with --write-baseline).")
@click.option("--why", help="Why it is acceptable (with --write-baseline).")
@click.option("--until", "until_text", help="Acceptance expiry date, e.g. 2026-12-31.")
@_common
def scan_cmd(
    target: Path,
    root: Path | None,
    baseline_path: Path | None,
    write_baseline: Path | None,
    who: str | None,
    why: str | None,
    until_text: str | None,
    policy_path: Path | None,
    sarif_path: Path | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
    output_format: str,
) -> None:
    """Run Slither on contracts, offline (solc-js under Node, no compiler download).

    TARGET is a .sol file or a directory (its .sol files and what they import).
    Findings get nebsign's fingerprints (check + contract + function +
    normalized source), so a baseline of accepted findings survives edits.

    \b
    Examples:
      scripts/ensure-solc.sh            # once: solc-js into .tools/solcjs
      nebsign audit scan contracts/
      nebsign audit scan contracts/ --sarif slither.sarif --format json
      nebsign audit scan contracts/ --write-baseline .nebsign/audit-baseline.toml \\
          --who alice@example.com --why "reviewed, ticket SEC-31"

    \b
    Exit codes: 0 passed, 1 a finding at level FAIL, 2 bad input (or the contracts do
    not compile), 3 Node, solc-js or Slither missing (the message says how to install).
    """
    from pathlib import Path as _Path

    from nebsign.audit.service import load_policy, scan_audit

    _need_key(attest_path, key_path)
    if write_baseline is not None and not (who and why):
        raise click.UsageError("--write-baseline needs --who and --why")
    until = None
    if until_text is not None:
        try:
            until = date.fromisoformat(until_text)
        except ValueError as exc:
            raise InputError(f"--until: {until_text!r} is not a date like 2026-12-31") from exc
    verdict = scan_audit(
        target, load_policy(policy_path), root=root or _Path.cwd(), baseline_path=baseline_path
    )
    if write_baseline is not None:
        from nebsign.findings import Status
        from nebsign.sast.baseline import render_baseline

        assert who is not None and why is not None
        open_findings = [f for f in verdict.findings if f.status is Status.OPEN]
        atomic_write(write_baseline, render_baseline(open_findings, who=who, why=why, until=until))
        click.echo(f"wrote {len(open_findings)} accepted finding(s) to {write_baseline}", err=True)
        return
    _finish(
        verdict,
        output_format=output_format,
        sarif_path=sarif_path,
        attest_path=attest_path,
        key_path=key_path,
        passphrase_fd=passphrase_fd,
    )
