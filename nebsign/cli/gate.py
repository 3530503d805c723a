"""``nebsign gate staging|canary|regional|rollout``: the release protocol's numeric gates."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nebsign.cli._attestopts import attest_options
from nebsign.cli._clock import duration, now
from nebsign.cli._extras import needs_extra
from nebsign.cli._output import emit_json, format_option, warn
from nebsign.cli._trustopts import trust_options
from nebsign.policy.trust_input import TrustInput

if TYPE_CHECKING:
    from nebsign.gate.files import GateRun

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

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        if kwargs["attest_path"] is not None and kwargs["key_path"] is None:
            raise click.UsageError("--attest needs --key")
        return func(*args, **kwargs)

    wrapped: Any = command
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[no-any-return]


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


def _finish(run: GateRun, opts: dict[str, Any]) -> None:
    """Sign (--attest), print, and exit by the verdict."""
    from nebsign.gate.model import Verdict
    from nebsign.gate.report import format_explain, format_text, statement

    if opts["attest_path"] is not None:
        from nebsign.cli._keyopts import load_signing_key
        from nebsign.verdict_files import write_attestation

        write_attestation(
            opts["attest_path"],
            statement(run.predicate, run.subjects(opts["subject_manifest"])),
            lambda: load_signing_key(str(opts["key_path"]), opts["passphrase_fd"]),
        )
    if opts["output_format"] == "json":
        emit_json(run.predicate)
    else:
        if opts["explain"]:
            click.echo(format_explain(run.predicate), nl=False)
        click.echo(format_text(run.predicate), nl=False)
    result = run.result
    if result.verdict is Verdict.INCONCLUSIVE and opts["allow_inconclusive"]:
        warn(f"{result.gate.value} gate INCONCLUSIVE, allowed by --allow-inconclusive")
    run.raise_for_verdict(allow_inconclusive=opts["allow_inconclusive"])


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
    from nebsign.gate.files import gate_staging, load_gates_policy

    policy = load_gates_policy(opts["policy_path"])
    _finish(
        gate_staging(baseline, current, policy, decided_at=now(), fmt=opts["input_format"]), opts
    )


staging.help = inspect.cleandoc(staging.help or "") + "\n" + _EXIT


def _canary_command(name: str, hours: str) -> click.Command:
    @_metrics_files(
        "--metrics", "Time-series metrics file (repeat; series are merged by name and labels)."
    )
    @_common
    @needs_extra("gates")
    def command(metrics: tuple[Path, ...], **opts: Any) -> None:
        from nebsign.gate.files import gate_canary, load_gates_policy
        from nebsign.gate.model import GateKind

        policy = load_gates_policy(opts["policy_path"])
        run = gate_canary(
            metrics, policy, GateKind(name), decided_at=now(), fmt=opts["input_format"]
        )
        _finish(run, opts)

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
    from nebsign.gate.files import gate_canary, load_gates_policy
    from nebsign.gate.model import GateFailed, GateKind

    if auto_rollback and not rollback_key:
        raise click.UsageError("--auto-rollback needs --rollback-key")
    policy = load_gates_policy(opts["policy_path"])
    run = gate_canary(metrics, policy, GateKind.WATCH, decided_at=now(), fmt=opts["input_format"])
    try:
        _finish(run, opts)
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
    from nebsign.gate.files import check_rollout_files
    from nebsign.gate.rollout import RolloutTooSlow

    try:
        checked = check_rollout_files(
            manifest, attestations, trust, policy_path=policy_path, now=now()
        )
    except RolloutTooSlow as exc:
        if output_format == "json":
            emit_json({"verdict": "fail", "reason": exc.message})
        raise
    elapsed, limit = checked.elapsed, checked.limit
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
