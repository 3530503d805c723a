"""``nebsign scan sast``: static analysis gated by policy (DAST adds ``scan dast``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nebsign.cli._attestopts import attest_options
from nebsign.cli._extras import needs_extra
from nebsign.cli._output import (
    emit_json,
    format_option,
    one_stdout,
    quiet_option,
    warn,
    write_output,
)
from nebsign.cli._verdictopts import (
    baseline_options,
    outputs_param,
    parse_date,
    report_accepted,
)

if TYPE_CHECKING:
    from nebsign.verdict_files import VerdictOutputs


@click.group("scan")
def scan() -> None:
    """Scan source code (SAST) and gate the result by policy.

    \b
    Examples:
      nebsign scan sast                          # the current directory
      nebsign scan sast src/ --sarif sast.sarif  # also SARIF 2.1.0
    """


@scan.command("sast")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory findings are relative to (default: the current directory).",
)
@click.option(
    "--staged",
    is_flag=True,
    help="Scan the git index (what is about to be committed), not the working tree. "
    "PATHS then limit which staged files are scanned (the pre-commit hook passes them).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Policy TOML with a [sast] table (default: the bundled policies/default.toml).",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Baseline TOML of accepted findings (default: the policy's `baseline`, if present).",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache directory (default: the user cache dir, e.g. ~/.cache/nebsign).",
)
@click.option("--no-cache", is_flag=True, help="Run every scanner on every file.")
@click.option(
    "-j", "--jobs", type=click.IntRange(0, 256), default=0, help="Processes (0: all cores)."
)
@click.option(
    "--engine",
    type=click.Choice(["native", "python"]),
    help="semgrep front end (default: the policy's semgrep_engine).",
)
@click.option(
    "--sarif",
    "sarif_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Also write SARIF 2.1.0 here (GitHub code scanning upload-ready).",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Also write the manifest of exactly the scanned files (the verdict's subject).",
)
@baseline_options(allow_dash=True)
@click.option("--today", "today_text", hidden=True, help="Override today's date (tests).")
@attest_options("SAST_V1", allow_dash=True)
@format_option
@quiet_option
@needs_extra("scan")
@outputs_param(write=write_output)
def sast(
    paths: tuple[Path, ...],
    root: Path | None,
    staged: bool,
    policy_path: Path | None,
    baseline_path: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    jobs: int,
    engine: str | None,
    manifest_path: Path | None,
    today_text: str | None,
    outputs: VerdictOutputs,
    output_format: str,
    quiet: bool,
) -> None:
    """Run bandit and semgrep with nebsign's rules; exit 1 if the policy fails.

    \b
    Examples:
      nebsign scan sast                        # the current directory
      nebsign scan sast ../other-repo          # another tree: paths relative to it
      nebsign scan sast src/ --sarif out.sarif # also write SARIF for GitHub
      nebsign scan sast --staged               # what `git commit` would record
      nebsign scan sast --format json          # the verdict, machine-readable
      nebsign scan sast --write-baseline .nebsign/sast-baseline.toml \\
          --who alice@example.com --why "legacy, ticket SEC-12" --until 2026-12-31

    \b
    Inline suppressions: `# nosec [B602]` silences bandit, `# nosemgrep[: rule-id]`
    silences nebsign's semgrep rules, on the finding's line. Every suppression is
    counted in the summary. Levels per severity, rule and path come from the
    policy's [sast] table; accepted findings from the baseline file.

    \b
    Exit codes: 0 policy passed, 1 policy failed, 2 bad input, 3 a scanner is
    missing or failed.
    """
    from nebsign.sast.scan import ScanRequest, run_sast_scan, scan_root
    from nebsign.sast.verdict import format_text, result_dict

    written = outputs.accept.path if outputs.accept is not None else None
    to_stdout = one_stdout(outputs.sarif, manifest_path, written, outputs.attest)
    if to_stdout and output_format == "json":
        raise click.UsageError("an output '-' and --format json would both write to stdout")
    today = parse_date(today_text, "--today")
    if staged and root is not None:
        raise click.UsageError(
            "--staged scans the repository of the current directory; drop --root"
        )
    root, paths = scan_root(paths, root, staged=staged, cwd=Path(os.getcwd()))
    request = ScanRequest(
        root=root,
        paths=paths,
        staged=staged,
        policy_path=policy_path,
        baseline_path=baseline_path,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        jobs=jobs,
        engine=engine,
        today=today,
    )
    result = run_sast_scan(request, outputs, manifest_path=manifest_path)
    verdict, stats = result.verdict, result.stats
    if not verdict.outcome.files and not staged and not quiet:
        warn("no files in scope of the policy's include/exclude: nothing was scanned")
    report_accepted(result.accepted, outputs.accept, quiet=quiet)
    if output_format == "json":
        emit_json(result_dict(verdict))
    else:
        cache_line = ""
        if stats.cache_path is not None and not quiet:
            cache_line = f"cache: {stats.cache_hits} reused, {stats.cache_misses} scanned"
        shown_path = None if written is None else str(written)
        text = format_text(verdict, cache_line=cache_line, baseline_written=shown_path)
        # with an output on stdout ('-'), the summary goes to stderr
        click.echo(text, nl=False, err=to_stdout)
    result.raise_for_verdict()


def _add_dast() -> None:
    from nebsign.cli.scan_dast import dast

    scan.add_command(dast)


_add_dast()
