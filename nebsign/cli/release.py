"""``nebsign release``: the build-server step (manifest, SAST, gates, sign, publish)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from nebsign.cli._keyopts import load_signing_key, passphrase_fd_option
from nebsign.cli._output import emit_json, format_option, quiet_option, shown

_FILE = click.Path(dir_okay=False, exists=True, path_type=Path)


def _text(outcome: Any) -> None:
    word = "PUBLISHED" if outcome.published is not None else "STOPPED"
    click.echo(f"nebsign release {shown(outcome.name)} {shown(outcome.version)}: {word}")
    click.echo(f"  release.json sha256:{outcome.manifest_sha256} ({outcome.files} entries)")
    for step in outcome.steps:
        click.echo(f"  {step.step:<13} {step.verdict.upper():<12} {shown(step.reason)}")
    for line in outcome.skipped:
        click.echo(f"  skipped       {shown(line)}")
    if outcome.published is not None:
        click.echo(f"  -> {shown(str(outcome.published))}")
        if "report/index.html" in outcome.layout:
            report = outcome.published / "report" / "index.html"
            click.echo(f"  public report: {shown(str(report))}")


@click.command("release")
@click.argument("src_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("build_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Release directory to create (the agent's layout; must not exist or be empty).",
)
@click.option(
    "--key", "key_file", required=True, type=click.Path(dir_okay=False), help="Private key file."
)
@passphrase_fd_option
@click.option("--name", required=True, help="Release name (the host policy's `name`).")
@click.option("--version", "version", required=True, help="Release version, e.g. 1.4.3.")
@click.option("--expires", help="Expiry, RFC 3339 (default: --valid-days after the build time).")
@click.option(
    "--valid-days",
    type=click.IntRange(1, 3650),
    default=30,
    show_default=True,
    help="Days until the release expires, from SOURCE_DATE_EPOCH (or now).",
)
@click.option(
    "--policy",
    "policy_path",
    type=_FILE,
    help="Policy TOML with [sast] and [gates] tables (default: the bundled one).",
)
@click.option("--sast-baseline", type=_FILE, help="SAST baseline of accepted findings.")
@click.option(
    "--sast-cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="SAST result cache directory (default: the user cache dir).",
)
@click.option("--no-sast-cache", is_flag=True, help="Run every scanner on every file.")
@click.option(
    "--staging-baseline", multiple=True, type=_FILE, help="Staging gate: baseline metrics (repeat)."
)
@click.option(
    "--staging-current", multiple=True, type=_FILE, help="Staging gate: current metrics (repeat)."
)
@click.option(
    "--canary-metrics", multiple=True, type=_FILE, help="Canary gate: metrics over the window."
)
@click.option(
    "--staging-url",
    metavar="URL",
    help="DAST: scan the release candidate deployed at URL (scope and budget from [dast]).",
)
@click.option(
    "--audit",
    "audits",
    multiple=True,
    type=_FILE,
    help="Third-party audit file (repeat): coverage and drift of the release's contracts.",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Run every step even after one fails, and report all (still publishes nothing).",
)
@click.option(
    "--no-report",
    is_flag=True,
    help="Do not render the public report into OUT/report/ (it needs nebsign[report]).",
)
@click.option("--force", is_flag=True, help="Replace a non-empty OUT (atomically, by rename).")
@format_option
@quiet_option
def release(
    src_dir: Path,
    build_dir: Path,
    out_dir: Path,
    key_file: str,
    passphrase_fd: int | None,
    name: str,
    version: str,
    expires: str | None,
    valid_days: int,
    policy_path: Path | None,
    sast_baseline: Path | None,
    sast_cache: Path | None,
    no_sast_cache: bool,
    staging_baseline: tuple[Path, ...],
    staging_current: tuple[Path, ...],
    canary_metrics: tuple[Path, ...],
    staging_url: str | None,
    audits: tuple[Path, ...],
    keep_going: bool,
    no_report: bool,
    force: bool,
    output_format: str,
    quiet: bool,
) -> None:
    """Build a signed release from SRC_DIR (scanned) and BUILD_DIR (published).

    The build-server step: manifest of BUILD_DIR, SAST on it and on SRC_DIR,
    DAST against --staging-url when given, the audit
    coverage check when audit files are given, the staging and canary gates
    when their metrics are given, each result as a signed
    attestation, release.json signed, the public report rendered from the
    verified release into OUT/report/ and signed, and OUT written in exactly the
    layout `nebsign agent install` reads from a directory or over HTTP (index.json).
    Stops at the first step that does not pass (exit 1, named); nothing is
    published then. Same inputs and SOURCE_DATE_EPOCH give byte-identical output.

    \b
    Examples:
      export NEBSIGN_PASSPHRASE=...   # or --passphrase-fd 3; never on the command line
      SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) \\
      nebsign release src/ build/ -o out/exchange-api-1.4.3 --key release.key \\
          --name exchange-api --version 1.4.3 --staging-url https://staging.internal/ \\
          --audit audits/vault-audit.toml \\
          --staging-baseline base.json --staging-current cur.json --canary-metrics canary.om

    \b
    Exit codes: 0 published; 1 a step failed (SAST, DAST, audit, a gate: named); 2 bad input
    (missing file, OUT not empty, malformed metrics); 3 environment (scanner missing).
    """
    from nebsign.release import ReleaseRequest, expires_after, run_release
    from nebsign.release.pipeline import clock, parse_source_date_epoch

    def progress(line: str) -> None:
        if not quiet:
            click.echo(f"nebsign release: {shown(line)}", err=True)

    epoch = parse_source_date_epoch(os.environ.get("SOURCE_DATE_EPOCH"))
    request = ReleaseRequest(
        src_dir=src_dir,
        build_dir=build_dir,
        out_dir=out_dir,
        name=name,
        version=version,
        expires=expires or expires_after(clock(epoch), valid_days),
        policy_path=policy_path,
        sast_baseline=sast_baseline,
        sast_cache=sast_cache,
        use_sast_cache=not no_sast_cache,
        staging_baseline=staging_baseline,
        staging_current=staging_current,
        canary_metrics=canary_metrics,
        audits=audits,
        staging_url=staging_url,
        keep_going=keep_going,
        force=force,
        report=not no_report,
        source_date_epoch=epoch,
    )
    key = load_signing_key(key_file, passphrase_fd)
    outcome = run_release(request, key, progress=progress)
    if output_format == "json":
        emit_json(outcome.to_dict())
    else:
        _text(outcome)
    outcome.raise_for_verdict()
