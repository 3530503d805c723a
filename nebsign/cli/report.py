"""``nebsign report build|verify``: the public audit report, from verified evidence only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nebsign.cli._extras import needs_extra
from nebsign.cli._keyopts import load_signing_key, passphrase_fd_option
from nebsign.cli._output import emit_json, format_option
from nebsign.cli._trustopts import trust_options
from nebsign.errors import InputError, NebsignError
from nebsign.policy.trust_input import TrustInput, load_trust_policy

if TYPE_CHECKING:
    from nebsign.policy.trust import TrustPolicy

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _trust_policy(trust: TrustInput) -> TrustPolicy | None:
    """The report's trust policy, or None when none was named (an unsigned preview)."""
    return load_trust_policy(trust) if trust.given else None


def _policy(policy_file: str | None, trust_keys: tuple[str, ...]) -> TrustPolicy | None:
    """A trust policy from a file or key files, None for neither (a command with several)."""
    return _trust_policy(TrustInput(policy_file, trust_keys, key_flag="--trust-key"))


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
@trust_options(key_flag="--trust-key")
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
@needs_extra("report")
def build(
    release_dir: str,
    out_dir: str,
    trust: TrustInput,
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
        policy = _trust_policy(trust)
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
@trust_options(key_flag="--trust-key")
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
@needs_extra("report")
def verify(
    report_dir: str,
    trust: TrustInput,
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
        policy = _trust_policy(trust)
        if policy is None:
            raise InputError(
                "a trust policy is required: --policy FILE, --trust-key PUB or --identity/--issuer"
            )
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


@report.command("rollout")
@click.argument("store", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--channel-policy",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Trust policy TOML: who signs channel statements (as on the hosts).",
)
@click.option(
    "--rollback-policy",
    type=click.Path(dir_okay=False, exists=True),
    help="Trust policy TOML: who may authorize rollbacks (else rollbacks are not shown).",
)
@click.option(
    "--gate-policy",
    type=click.Path(dir_okay=False, exists=True),
    help="Trust policy TOML: who signs gate attestations (else evidence shows digests only).",
)
@format_option
@needs_extra("report")
def rollout(
    store: str,
    out_dir: str,
    channel_policy: str,
    rollback_policy: str | None,
    gate_policy: str | None,
    output_format: str,
) -> None:
    """Render the rollout status page of a store from its verified channel statements.

    \b
    Example:
      nebsign report rollout /srv/store -o /srv/store/status \\
          --channel-policy channel-trust.toml --rollback-policy rollback-trust.toml \\
          --gate-policy trust.toml

    Writes index.html (static, no script, strict CSP), rollout.md and
    rollout.json: which version every channel runs, since when, with which
    gate verdicts and evidence, and the rollbacks. A statement that does not
    verify is not rendered (counted as not verified). Exit 1 if none verifies.
    """
    from datetime import UTC, datetime

    from nebsign._internal.atomic import atomic_write
    from nebsign.report.rollout import RolloutTrust, render_rollout, rollout_doc

    def load(path: str | None) -> TrustPolicy | None:
        return None if path is None else _policy(path, ())

    with _json_errors(output_format):
        channel_trust = load(channel_policy)
        assert channel_trust is not None
        trust = RolloutTrust(channel_trust, load(rollback_policy), load(gate_policy))
        doc = rollout_doc(Path(store), trust, now=datetime.now(UTC).replace(microsecond=0))
        files = render_rollout(doc)
        target = Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            atomic_write(target / name, data)
    if output_format == "json":
        emit_json({"ok": True, "channels": len(doc["channels"]), "files": sorted(files)})
        return
    for c in doc["channels"]:
        click.echo(
            f"{visible_text(c['channel'])}: {visible_text(c['release'])} "
            f"{visible_text(c['version'])} since {c['since']} (#{c['sequence']})"
        )
    click.echo(f"wrote {', '.join(sorted(files))} to {visible_text(out_dir)}")


def visible_text(value: str) -> str:
    from nebsign.report.text import visible

    return visible(value)
