"""``nebsign gate staging|canary|regional|rollout``: the release protocol's numeric gates."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nebsign._internal.atomic import atomic_write
from nebsign._internal.readlimit import read_bounded
from nebsign.cli._attestopts import attest_options
from nebsign.cli._clock import duration, now
from nebsign.cli._extras import needs_extra
from nebsign.cli._output import emit_json, format_option, warn
from nebsign.cli._trustopts import trust_options
from nebsign.policy.trust_input import TrustInput

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
        attest_options("GATE_V1"),
        format_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _metrics_files(flag: str, help_text: str) -> Callable[[F], F]:
    """A required, repeatable metrics-file option (parameter: the flag's name)."""
    return click.option(
        flag,
        flag.removeprefix("--"),
        multiple=True,
        required=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help=help_text,
    )


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
        decided_at=now(),
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
@_metrics_files("--baseline", "Baseline metrics file (repeat: one file may be one run).")
@_metrics_files("--current", "Current metrics file (repeat).")
@_common
@needs_extra("gates")
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
    @_metrics_files(
        "--metrics", "Time-series metrics file (repeat; series are merged by name and labels)."
    )
    @_common
    @needs_extra("gates")
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


@gate.command("watch")
@_metrics_files("--metrics", "Time-series metrics file of the released service (repeat).")
@click.option("--channel", default="global", show_default=True, help="The channel released to.")
@click.option(
    "--store",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="The static store holding the channel's statements.",
)
@click.option("--to", "to", help="Version to roll back to (default: what the channel ran before).")
@click.option(
    "--auto-rollback",
    is_flag=True,
    help="On FAIL, publish the fleet rollback at once (needs --rollback-key).",
)
@click.option(
    "--rollback-key",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Key allowed to authorize rollbacks, for --auto-rollback (repeat for k-of-n).",
)
@_common
@needs_extra("gates")
def watch(
    metrics: tuple[Path, ...],
    channel: str,
    store: Path,
    to: str | None,
    auto_rollback: bool,
    rollback_key: tuple[str, ...],
    **opts: Any,
) -> None:
    """The 48 h post-release watch after global; a FAIL names the fleet rollback.

    \b
    Examples:
      nebsign gate watch --metrics prod.om --channel global --store /srv/store
      nebsign gate watch --metrics prod.om --store /srv/store \\
          --auto-rollback --rollback-key rollback.key

    The canary's thresholds over a 48 h window ([gates.watch]). On FAIL it
    prints the exact `nebsign rollback --channel ...` command that brings
    every host back to the previous release; with --auto-rollback it runs it.
    """
    from nebsign.channels.publish import previous_version, rollback_command
    from nebsign.gate.model import GateFailed, GateKind
    from nebsign.gate.run import run_canary

    if auto_rollback and not rollback_key:
        raise click.UsageError("--auto-rollback needs --rollback-key")
    policy = _policy(opts["policy_path"])
    inputs = _read(metrics, "metrics")
    result = run_canary(inputs, policy, GateKind.WATCH, opts["input_format"])
    try:
        _finish(result, policy, [("metrics", i) for i in inputs], opts)
    except GateFailed as exc:
        target = to or previous_version(store, channel)
        if target is None:
            raise GateFailed(
                exc.message, hint=f"channel {channel} in {store} has no earlier release"
            ) from exc
        if not auto_rollback:
            command = rollback_command(channel, target, store)
            click.echo(f"roll every {channel} host back: {command}")
            raise GateFailed(exc.message, hint=f"roll back: {command}") from exc
        from nebsign.channels.publish import rollback as do_rollback
        from nebsign.cli._keyopts import load_signing_key

        keys = [load_signing_key(k, opts["passphrase_fd"]) for k in rollback_key]
        out = do_rollback(store, channel, target, keys, now=now(), expires_in=duration("7d"))
        st = out.statement
        click.echo(f"auto-rollback: channel {channel} -> {target}, statement #{st.sequence}")
        raise GateFailed(
            exc.message, hint=f"channel {channel} rolled back to {target} (#{st.sequence})"
        ) from exc


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
@trust_options(policy_flag="--trust-policy", attestations_only=True)
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
    trust: TrustInput,
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
    from nebsign.policy.trust_input import load_trust_policy
    from nebsign.verify import verify_attestation

    signers = load_trust_policy(trust, threshold_applies=False)
    sha = sha256_bytes(read_bounded(manifest, MAX_MANIFEST_BYTES, "release manifest"))
    statements = [
        verify_attestation(
            Bundle.from_json(read_bounded(a, MAX_BUNDLE_BYTES, "attestation")), signers
        )
        for a in attestations
    ]
    limit = timedelta(hours=float(_policy(policy_path).rollout_hours))
    try:
        elapsed = check_rollout(statements, sha, now=now(), limit=limit)
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
