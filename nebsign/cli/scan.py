"""``nebsign scan sast``: static analysis gated by policy (DAST adds ``scan dast``)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click

from nebsign.cli._extras import needs_extra
from nebsign.cli._output import (
    emit_json,
    format_option,
    one_stdout,
    quiet_option,
    warn,
    write_output,
)
from nebsign.errors import InputError


@click.group("scan")
def scan() -> None:
    """Scan source code (SAST) and gate the result by policy.

    \b
    Examples:
      nebsign scan sast                          # the current directory
      nebsign scan sast src/ --sarif sast.sarif  # also SARIF 2.1.0
    """


def _parse_date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{what}: {text!r} is not a date like 2026-12-31") from exc


def _outside(path: Path, cwd: Path) -> bool:
    """True if *path* is a directory that does not lie below *cwd*."""
    if not path.is_dir():
        return False
    rel = os.path.relpath(os.path.abspath(path), cwd)
    return rel == ".." or rel.startswith(".." + os.sep)


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
@click.option(
    "--write-baseline",
    "write_baseline",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write a baseline accepting every open finding (needs --who, --why; --until), "
    "then exit 0.",
)
@click.option("--who", help="Who accepts (with --write-baseline).")
@click.option("--why", help="Why it is acceptable (with --write-baseline).")
@click.option("--until", "until_text", help="Acceptance expiry date, e.g. 2026-12-31.")
@click.option("--today", "today_text", hidden=True, help="Override today's date (tests).")
@click.option(
    "--attest",
    "attest_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the verdict as a signed in-toto statement (a Sigstore bundle) here.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Private key for --attest (passphrase from NEBSIGN_PASSPHRASE or a prompt).",
)
@click.option(
    "--passphrase-fd",
    type=click.IntRange(min=0),
    metavar="N",
    help="Read the --key passphrase from file descriptor N (else $NEBSIGN_PASSPHRASE, "
    "else a prompt). Never on the command line.",
)
@format_option
@quiet_option
@needs_extra("scan")
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
    sarif_path: Path | None,
    manifest_path: Path | None,
    write_baseline: Path | None,
    who: str | None,
    why: str | None,
    until_text: str | None,
    today_text: str | None,
    attest_path: Path | None,
    key_path: Path | None,
    passphrase_fd: int | None,
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
    from nebsign.sarif import sarif_bytes, to_sarif
    from nebsign.sast.baseline import render_baseline
    from nebsign.sast.gate import ScanRequest, scan_sast
    from nebsign.sast.report import format_text, result_dict

    if attest_path is not None and key_path is None:
        raise click.UsageError("--attest needs --key")
    if write_baseline is not None and not (who and why):
        raise click.UsageError("--write-baseline needs --who and --why")
    to_stdout = one_stdout(sarif_path, manifest_path, write_baseline, attest_path)
    if to_stdout and output_format == "json":
        raise click.UsageError("an output '-' and --format json would both write to stdout")
    until = _parse_date(until_text, "--until")
    today = _parse_date(today_text, "--today")
    cwd = Path(os.getcwd())
    if root is None and not staged and len(paths) == 1 and _outside(paths[0], cwd):
        # one directory outside the current one is the root, as bandit and semgrep take it
        root, paths = paths[0], ()
    request = ScanRequest(
        root=root or cwd,
        paths=paths if staged else tuple(p if p.is_absolute() else cwd / p for p in paths),
        staged=staged,
        policy_path=policy_path,
        baseline_path=baseline_path,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        jobs=jobs,
        engine=engine,
        today=today,
    )
    if staged and root is not None:
        raise click.UsageError(
            "--staged scans the repository of the current directory; drop --root"
        )
    verdict, stats = scan_sast(request)
    outcome = verdict.outcome
    if not outcome.files and not staged and not quiet:
        warn("no files in scope of the policy's include/exclude: nothing was scanned")

    if sarif_path is not None:
        from nebsign import __version__

        log = to_sarif(verdict.findings, tools=outcome.tools, driver_version=__version__)
        write_output(sarif_path, sarif_bytes(log))
    if manifest_path is not None:
        write_output(manifest_path, outcome.manifest.to_json())
    if write_baseline is not None:
        from nebsign.findings import Status

        open_findings = [f for f in verdict.findings if f.status is Status.OPEN]
        assert who is not None and why is not None
        if str(write_baseline) != "-":
            write_baseline.parent.mkdir(parents=True, exist_ok=True)
        write_output(write_baseline, render_baseline(open_findings, who=who, why=why, until=until))
        if not quiet:
            warn(f"wrote {len(open_findings)} accepted finding(s) to {write_baseline}")
    if attest_path is not None:
        assert key_path is not None
        from nebsign.cli._keyopts import load_signing_key
        from nebsign.sast.report import statement
        from nebsign.signing import sign_statement

        bundle = sign_statement(statement(verdict), load_signing_key(str(key_path), passphrase_fd))
        write_output(attest_path, bundle.to_json())

    if output_format == "json":
        emit_json(result_dict(verdict))
    else:
        cache_line = ""
        if stats.cache_path is not None and not quiet:
            cache_line = f"cache: {stats.cache_hits} reused, {stats.cache_misses} scanned"
        text = format_text(verdict, cache_line=cache_line)
        if write_baseline is not None:
            # the baseline accepts these findings: no "verdict: FAIL" before exit 0
            text = text[: text.rfind("verdict: ")] + f"baseline written: {write_baseline}\n"
        # with an output on stdout ('-'), the summary goes to stderr
        click.echo(text, nl=False, err=to_stdout)
    if not verdict.passed and write_baseline is None:
        from nebsign.policy.sast import SastGateFailed

        raise SastGateFailed(verdict.reason())


def _add_dast() -> None:
    from nebsign.cli.scan_dast import dast

    scan.add_command(dast)


_add_dast()
