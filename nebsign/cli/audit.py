"""``nebsign audit import|check|scan``: third-party audits and Slither, judged by policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nebsign.cli._attestopts import attest_options
from nebsign.cli._extras import needs_extra
from nebsign.cli._output import emit_json, format_option, shown
from nebsign.cli._verdictopts import baseline_options, outputs_param

if TYPE_CHECKING:
    from nebsign.audit.check import AuditVerdict
    from nebsign.verdict_files import VerdictOutputs

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
            attest_options("AUDIT_V1"),
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
    outputs: VerdictOutputs,
    *,
    output_format: str,
    manifest: tuple[str, str] | None = None,
) -> None:
    from nebsign.audit.policy import AuditGateFailed
    from nebsign.audit.report import format_text, result_dict, sarif_log, statement
    from nebsign.sarif import sarif_bytes
    from nebsign.verdict_files import write_verdict_outputs

    write_verdict_outputs(
        outputs,
        verdict.findings,
        sarif=lambda: sarif_bytes(sarif_log(verdict)),
        statement=lambda: statement(verdict, manifest),
    )
    if output_format == "json":
        emit_json(result_dict(verdict, manifest))
    else:
        click.echo(format_text(verdict), nl=False)
    if not verdict.passed:
        raise AuditGateFailed(verdict.reason())


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
@outputs_param()
def import_cmd(
    files: tuple[Path, ...],
    input_format: str | None,
    policy_path: Path | None,
    outputs: VerdictOutputs,
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

    verdict = import_audits(files, load_policy(policy_path), input_format)
    _finish(
        verdict,
        outputs,
        output_format=output_format,
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
@outputs_param()
def check_cmd(
    files: tuple[Path, ...],
    manifest_path: Path,
    root: Path | None,
    input_format: str | None,
    policy_path: Path | None,
    outputs: VerdictOutputs,
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

    result = check_audits(
        manifest_path, files, load_policy(policy_path), root=root, fmt=input_format
    )
    _finish(
        result.verdict,
        outputs,
        output_format=output_format,
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
@baseline_options()
@_common
@needs_extra("audit")
@outputs_param()
def scan_cmd(
    target: Path,
    root: Path | None,
    baseline_path: Path | None,
    policy_path: Path | None,
    outputs: VerdictOutputs,
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

    verdict = scan_audit(
        target, load_policy(policy_path), root=root or _Path.cwd(), baseline_path=baseline_path
    )
    if outputs.accept is not None:
        from nebsign.verdict_files import accept_open

        accepted = accept_open(verdict.findings, outputs.accept, outputs.write)
        click.echo(
            f"wrote {accepted} accepted finding(s) to {shown(str(outputs.accept.path))}", err=True
        )
        return
    _finish(
        verdict,
        outputs,
        output_format=output_format,
    )
