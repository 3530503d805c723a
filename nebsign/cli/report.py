"""``nebsign report build|verify``: the public audit report, from verified evidence only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nebsign._internal.readlimit import read_bounded
from nebsign.cli._keyopts import load_signing_key, passphrase_fd_option
from nebsign.cli._output import emit_json, format_option
from nebsign.errors import InputError, NebsignError

if TYPE_CHECKING:
    from nebsign.policy.trust import TrustPolicy

F = TypeVar("F", bound=Callable[..., Any])
MAX_POLICY_FILE = 1024 * 1024
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _trust_options(func: F) -> F:
    func = click.option(
        "--trust-key",
        "trust_keys",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Trusted public key (repeatable); or use --policy.",
    )(func)
    return click.option(
        "--policy",
        "policy_file",
        type=click.Path(dir_okay=False),
        help="Trust policy TOML: who may sign the release, its attestations and the report.",
    )(func)


def _policy(policy_file: str | None, trust_keys: tuple[str, ...]) -> TrustPolicy | None:
    from nebsign.keys import MAX_KEY_BYTES, load_public_key
    from nebsign.policy.trust import TrustPolicy

    if policy_file is not None and trust_keys:
        raise InputError("give either --policy FILE or --trust-key PUB, not both")
    if policy_file is not None:
        raw = read_bounded(policy_file, MAX_POLICY_FILE, "policy")
        return TrustPolicy.from_toml(raw, Path(policy_file).parent, f"policy {policy_file}")
    if trust_keys:
        return TrustPolicy.from_keys(
            load_public_key(read_bounded(k, MAX_KEY_BYTES, "public key"), f"key {k}")
            for k in trust_keys
        )
    return None


@contextmanager
def _json_errors(output_format: str) -> Iterator[None]:
    """With --format json, a refusal is also a JSON object on stdout (then the error line)."""
    try:
        yield
    except NebsignError as exc:
        if output_format == "json":
            emit_json({"ok": False, "error": exc.diagnostics(), "exit_code": exc.exit_code})
        raise


@click.group("report")
def report() -> None:
    """The public audit report: rendered only from verified, signed evidence.

    `build` verifies a release directory (release.json, its signatures, its
    attestations, the payload) against a trust policy, then writes index.html,
    report.md and report.json, signed together in report.json.sigstore.json.
    `verify` checks such a directory: signature, every file, and that the
    HTML and Markdown are exactly what the signed JSON renders.

    \b
    Examples:
      nebsign report build releases/app-1.4.2 -o reports/app-1.4.2 \\
          --policy trust.toml --key release.key
      nebsign report verify reports/app-1.4.2 --policy trust.toml
    """


@report.command("build")
@click.argument("release_dir", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Report directory to write (created if missing).",
)
@_trust_options
@click.option(
    "--key", "key_file", type=click.Path(dir_okay=False), help="Private key that signs the report."
)
@passphrase_fd_option
@click.option(
    "--previous",
    "previous_dir",
    type=click.Path(file_okay=False),
    help="The previous release's report directory: show new / fixed / still open / accepted.",
)
@click.option("--date", help="Release date (YYYY-MM-DD); default: the signature's log time.")
@click.option("--pdf", is_flag=True, help="Also print report.pdf with headless Chromium.")
@click.option(
    "--unsigned-preview",
    is_flag=True,
    help="Render even unverified evidence; every page is stamped UNVERIFIED and nothing is signed.",
)
@format_option
def build(
    release_dir: str,
    out_dir: str,
    policy_file: str | None,
    trust_keys: tuple[str, ...],
    key_file: str | None,
    passphrase_fd: int | None,
    previous_dir: str | None,
    date: str | None,
    pdf: bool,
    unsigned_preview: bool,
    output_format: str,
) -> None:
    """Verify RELEASE_DIR and write its signed public report.

    \b
    Example:
      nebsign report build releases/exchange-api-1.4.2 -o reports/exchange-api-1.4.2 \\
          --policy trust.toml --key release.key --previous reports/exchange-api-1.4.1

    Exit 0 written, 1 evidence refused (unsigned, tampered, untrusted signer,
    an attestation for another release), 2 bad input; nothing is written
    unless everything verified.
    """
    from nebsign.report.publish import BUNDLE_FILE, build_report_dir

    with _json_errors(output_format):
        if date is not None and not _DATE.fullmatch(date):
            raise InputError(f"--date {date[:40]!r}: expected YYYY-MM-DD")
        policy = _policy(policy_file, trust_keys)
        if unsigned_preview and key_file is not None:
            raise InputError("an --unsigned-preview is never signed; drop --key")
        key = load_signing_key(key_file, passphrase_fd) if key_file is not None else None
        result = build_report_dir(
            release_dir,
            out_dir,
            policy=policy,
            key=key,
            previous_dir=previous_dir,
            unsigned_preview=unsigned_preview,
            date=date,
            pdf=pdf,
        )
    summary = result.doc["summary"]
    if output_format == "json":
        emit_json(
            {
                "ok": True,
                "out_dir": str(result.out_dir),
                "files": result.files,
                "signed": result.signed,
                "preview": result.doc["preview"],
                "counts": {k: summary[k] for k in ("open", "accepted", "fixed", "total")},
            }
        )
        return
    names = ", ".join(sorted(result.files))
    signed = f"; signed: {BUNDLE_FILE}" if result.signed else "; UNSIGNED PREVIEW"
    click.echo(f"report written to {click.format_filename(out_dir)}: {names}{signed}")
    click.echo(
        f"  {summary['open']} open, {summary['accepted']} accepted, "
        f"{summary['fixed']} remediated finding(s)"
    )


@report.command("verify")
@click.argument("report_dir", type=click.Path(file_okay=False))
@_trust_options
@click.option(
    "--release",
    "release_dir",
    type=click.Path(file_okay=False),
    help="Also re-verify the release's evidence and compare it with report.json.",
)
@click.option(
    "--previous",
    "previous_dir",
    type=click.Path(file_okay=False),
    help="With --release: the previous report, to check the changes section too.",
)
@format_option
def verify(
    report_dir: str,
    policy_file: str | None,
    trust_keys: tuple[str, ...],
    release_dir: str | None,
    previous_dir: str | None,
    output_format: str,
) -> None:
    """Check a report directory: signature, every file, re-rendered HTML and Markdown.

    \b
    Example:
      nebsign report verify reports/exchange-api-1.4.2 --policy trust.toml \\
          --release releases/exchange-api-1.4.2

    Exit 0 if everything matches, 1 if any file was edited, the signer is
    not trusted or the evidence differs, 2 for malformed input.
    """
    from nebsign.report.publish import verify_report_dir

    with _json_errors(output_format):
        policy = _policy(policy_file, trust_keys)
        if policy is None:
            raise InputError("a trust policy is required: --policy FILE or --trust-key PUB")
        if previous_dir is not None and release_dir is None:
            raise InputError("--previous needs --release")
        check = verify_report_dir(
            report_dir, policy, release_dir=release_dir, previous_dir=previous_dir
        )
    if output_format == "json":
        emit_json(
            {
                "ok": True,
                "files": check.files,
                "signer": check.signer,
                "release": {"name": check.name, "version": check.version},
                "rerendered": list(check.rerendered),
                "evidence_checked": check.evidence_checked,
            }
        )
        return
    from nebsign.report.text import visible

    shown = visible(f"{check.name} {check.version}")
    click.echo(f"OK   report of {shown}: signed by {visible(check.signer)}")
    for name, sha in check.files.items():
        click.echo(f"  {name}  sha256:{sha}")
    click.echo("  index.html and report.md re-rendered from report.json: identical")
    if check.evidence_checked:
        click.echo("  evidence re-verified: report.json matches the release")
