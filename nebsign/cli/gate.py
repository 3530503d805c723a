"""``nebsign gate staging|canary|regional|rollout``: the release protocol's numeric gates."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from nebsign._internal.atomic import atomic_write
from nebsign._internal.readlimit import read_bounded
from nebsign.cli._output import emit_json, format_option, warn
from nebsign.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

_EXIT = """
\b
Exit codes: 0 PASS, 1 FAIL or INCONCLUSIVE (0 for INCONCLUSIVE with
--allow-inconclusive), 2 malformed metrics or policy, 3 environment fault."""


@click.group("gate")
def gate() -> None:
    """Judge rollout metrics: staging KPIs vs a baseline, canary and regional thresholds.

    \b
    Examples:
      nebsign gate staging --baseline base.json --current cur.json --explain
      nebsign gate canary --metrics canary.om --attest gate.sigstore.json --key gate.key
    """


def _common(func: F) -> F:
    options = [
        click.option(
            "--input-format",
            type=click.Choice(["auto", "json", "prometheus", "openmetrics", "pytest-benchmark"]),
            default="auto",
            show_default=True,
            help="Format of the metrics files (auto: by content).",
        ),
        click.option(
            "--policy",
            "policy_path",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="Policy TOML with a [gates] table (default: the bundled policies/default.toml).",
        ),
        click.option("--explain", is_flag=True, help="Print the per-metric decision table."),
        click.option(
            "--allow-inconclusive",
            is_flag=True,
            help="Exit 0 on INCONCLUSIVE (a warning is printed; the verdict stays inconclusive).",
        ),
        click.option(
            "--subject-manifest",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="The release manifest (release.json) the attestation is about.",
        ),
        click.option(
            "--attest",
            "attest_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the result as a signed GATE_V1 statement (a Sigstore bundle) here.",
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
            help="Read the --key passphrase from file descriptor N. Never on the command line.",
        ),
        format_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _read(paths: tuple[Path, ...], role: str) -> list[tuple[str, bytes]]:
    from nebsign.gate.readers import MAX_METRICS_BYTES
    from nebsign.gate.series import printable

    return [
        (printable(str(p)), read_bounded(p, MAX_METRICS_BYTES, f"{role} metrics")) for p in paths
    ]


def _policy(path: Path | None) -> Any:
    from nebsign._internal.resources import data_path
    from nebsign.gate.policy import parse_gates_policy
    from nebsign.policy import MAX_POLICY_BYTES

    target = path if path is not None else data_path("policies") / "default.toml"
    return parse_gates_policy(read_bounded(target, MAX_POLICY_BYTES, "policy"), f"policy {target}")


def _decided_at() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return datetime.now(UTC).replace(microsecond=0)
    if not epoch.isdigit():
        raise InputError("SOURCE_DATE_EPOCH must be a non-negative integer")
    return datetime.fromtimestamp(int(epoch), UTC)


def _finish(
    result: Any,
    policy: Any,
    inputs: list[tuple[str, tuple[str, bytes]]],
    opts: dict[str, Any],
) -> None:
    from nebsign.gate.model import GateFailed, GateInconclusive, Verdict
    from nebsign.gate.report import format_explain, format_text, predicate, statement
    from nebsign.gate.run import tool_versions

    if opts["attest_path"] is not None and opts["key_path"] is None:
        raise click.UsageError("--attest needs --key")
    roles = [(f"{role}:{os.path.basename(name)}", raw) for role, (name, raw) in inputs]
    pred = predicate(
        result,
        policy_digest=policy.digest,
        inputs=[(r, raw) for r, raw in roles],
        tools=tool_versions(),
        decided_at=_decided_at(),
    )
    if opts["attest_path"] is not None:
        from nebsign.attest import Subject
        from nebsign.cli._keyopts import load_signing_key
        from nebsign.digest import sha256_bytes
        from nebsign.manifest import MAX_MANIFEST_BYTES
        from nebsign.signing import sign_statement

        manifest = opts["subject_manifest"]
        if manifest is not None:
            raw = read_bounded(manifest, MAX_MANIFEST_BYTES, "release manifest")
            subjects = [Subject(manifest.name, sha256_bytes(raw))]
        else:
            subjects = [Subject(f"gate-metrics:{r}", sha256_bytes(raw)) for r, raw in roles]
        key = load_signing_key(str(opts["key_path"]), opts["passphrase_fd"])
        atomic_write(opts["attest_path"], sign_statement(statement(pred, subjects), key).to_json())
    if opts["output_format"] == "json":
        emit_json(pred)
    else:
        if opts["explain"]:
            click.echo(format_explain(pred), nl=False)
        click.echo(format_text(pred), nl=False)
    if result.verdict is Verdict.FAIL:
        raise GateFailed(f"{result.gate.value} gate FAIL: {result.reason}")
    if result.verdict is Verdict.INCONCLUSIVE:
        if opts["allow_inconclusive"]:
            warn(f"{result.gate.value} gate INCONCLUSIVE, allowed by --allow-inconclusive")
            return
        raise GateInconclusive(
            f"{result.gate.value} gate INCONCLUSIVE: {result.reason}",
            hint="never a pass; gather more data, or --allow-inconclusive",
        )


@gate.command("staging")
@click.option(
    "--baseline",
    "baseline",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Baseline metrics file (repeat: one file may be one run).",
)
@click.option(
    "--current",
    "current",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Current metrics file (repeat).",
)
@_common
def staging(baseline: tuple[Path, ...], current: tuple[Path, ...], **opts: Any) -> None:
    """Compare each KPI's runs with its baseline: >5% worse (and significant) fails.

    \b
    Examples:
      nebsign gate staging --baseline base.json --current cur.json --explain
      nebsign gate staging --baseline b1.prom --baseline b2.prom \\
          --current c1.prom --current c2.prom --format json
      nebsign gate staging --input-format pytest-benchmark \\
          --baseline main.json --current pr.json --policy bench-gates.toml

    Runs are the unit: each value of a series is one run. The change is the
    Hodges-Lehmann estimate with a Mann-Whitney interval; FAIL needs the
    whole interval beyond the tolerance, PASS the whole interval within it;
    anything else is INCONCLUSIVE with the runs needed.
    """
    from nebsign.gate.run import run_staging

    policy = _policy(opts["policy_path"])
    base, cur = _read(baseline, "baseline"), _read(current, "current")
    result = run_staging(base, cur, policy, opts["input_format"])
    inputs = [("baseline", b) for b in base] + [("current", c) for c in cur]
    _finish(result, policy, inputs, opts)


staging.help = inspect.cleandoc(staging.help or "") + "\n" + _EXIT


def _canary_command(name: str, hours: str) -> click.Command:
    @click.option(
        "--metrics",
        "metrics",
        multiple=True,
        required=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Time-series metrics file (repeat; series are merged by name and labels).",
    )
    @_common
    def command(metrics: tuple[Path, ...], **opts: Any) -> None:
        from nebsign.gate.model import GateKind
        from nebsign.gate.run import run_canary

        policy = _policy(opts["policy_path"])
        inputs = _read(metrics, "metrics")
        result = run_canary(inputs, policy, GateKind(name), opts["input_format"])
        _finish(result, policy, [("metrics", i) for i in inputs], opts)

    doc = f"""The {name} thresholds over a window of at least {hours} h of samples.

    \b
    Examples:
      nebsign gate {name} --metrics {name}.om --explain
      nebsign gate {name} --metrics {name}.om --subject-manifest release.json \\
          --attest {name}-gate.sigstore.json --key build.key

    Default thresholds (policy [gates.canary]): HTTP 5xx < 0.1% of requests,
    failed trade executions = 0, session crashes < 0.05% of sessions, DB pool
    saturation < 80% (window maximum). Rates use the Clopper-Pearson upper
    bound; missing series, gaps, short windows and duplicates fail closed.
    """
    return gate.command(name, help=inspect.cleandoc(doc) + "\n" + _EXIT)(command)


canary = _canary_command("canary", "4")
regional = _canary_command("regional", "12")


@gate.command("rollout")
@click.argument("manifest", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--attestation",
    "attestations",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A gate attestation bundle (repeat: the canary and the regional gate).",
)
@click.option(
    "--trust-policy",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Trust policy TOML: who may sign gate attestations.",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Policy with [gates.rollout] max_hours (default: bundled).",
)
@format_option
def rollout(
    manifest: Path,
    attestations: tuple[Path, ...],
    trust_policy: Path,
    policy_path: Path | None,
    output_format: str,
) -> None:
    """Check the canary-to-global limit (24 h) from the gates' signed times.

    \b
    Example:
      nebsign gate rollout release.json --trust-policy trust.toml \\
          --attestation canary-gate.sigstore.json --attestation regional-gate.sigstore.json

    Each attestation is verified first; only then its signed decided_at counts.
    Exit 0 within the limit, 1 too late or a gate missing, 2 bad input.
    """
    from datetime import timedelta

    from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
    from nebsign.digest import sha256_bytes
    from nebsign.gate.rollout import RolloutTooSlow, check_rollout
    from nebsign.manifest import MAX_MANIFEST_BYTES
    from nebsign.policy import MAX_POLICY_BYTES
    from nebsign.policy.trust import TrustPolicy
    from nebsign.verify import verify_attestation

    trust = TrustPolicy.from_toml(
        read_bounded(trust_policy, MAX_POLICY_BYTES, "trust policy"), trust_policy.parent
    )
    sha = sha256_bytes(read_bounded(manifest, MAX_MANIFEST_BYTES, "release manifest"))
    statements = [
        verify_attestation(
            Bundle.from_json(read_bounded(a, MAX_BUNDLE_BYTES, "attestation")), trust
        )
        for a in attestations
    ]
    limit = timedelta(hours=float(_policy(policy_path).rollout_hours))
    now = _decided_at()
    try:
        elapsed = check_rollout(statements, sha, now=now, limit=limit)
    except RolloutTooSlow as exc:
        if output_format == "json":
            emit_json({"verdict": "fail", "reason": exc.message})
        raise
    if output_format == "json":
        emit_json(
            {
                "verdict": "pass",
                "elapsed_seconds": int(elapsed.total_seconds()),
                "limit_seconds": int(limit.total_seconds()),
            }
        )
    else:
        click.echo(f"rollout within the limit: {elapsed} of {limit} since the signed canary gate")
