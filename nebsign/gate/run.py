"""Bytes in, gate result out: the one call the CLI, the demo and ``release`` make (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from nebsign._internal.extras import import_from_extra
from nebsign.gate.canary import judge_canary
from nebsign.gate.model import GateKind, GateResult
from nebsign.gate.policy import GatesPolicy
from nebsign.gate.readers import read_metrics
from nebsign.gate.series import MetricSet, merge

__all__ = ["run_canary", "run_staging", "runs_by_metric", "tool_versions"]


def require_extra() -> None:
    """scipy and prometheus_client come with ``pip install 'nebsign[gates]'``."""
    for module in ("scipy.stats", "prometheus_client.parser"):
        import_from_extra(module, "gates", "the rollout gates")


def runs_by_metric(sets: Sequence[MetricSet]) -> dict[str, list[Decimal]]:
    """Each sample of each series is one run; a series is named with its labels."""
    runs: dict[str, list[Decimal]] = {}
    for metric_set in sets:
        for series in metric_set.series:
            runs.setdefault(series.shown(), []).extend(s.value for s in series.samples)
    return runs


def run_staging(
    baseline: Sequence[tuple[str, bytes]],
    current: Sequence[tuple[str, bytes]],
    policy: GatesPolicy,
    fmt: str = "auto",
) -> GateResult:
    """Judge current runs against baseline runs; inputs are (name, bytes) per file."""
    from nebsign.gate.staging import judge_staging

    require_extra()
    base = runs_by_metric([read_metrics(raw, name, fmt) for name, raw in baseline])
    cur = runs_by_metric([read_metrics(raw, name, fmt) for name, raw in current])
    return judge_staging(base, cur, policy.staging)


def run_canary(
    inputs: Sequence[tuple[str, bytes]],
    policy: GatesPolicy,
    gate: GateKind = GateKind.CANARY,
    fmt: str = "auto",
) -> GateResult:
    """The canary (or regional) verdict over the time series in *inputs*."""
    require_extra()
    data = merge([read_metrics(raw, name, fmt) for name, raw in inputs], "metrics")
    table = policy.canary
    if gate is GateKind.REGIONAL:
        table = policy.regional
    elif gate is GateKind.WATCH and policy.watch is not None:
        table = policy.watch
    return judge_canary(data, table, gate)


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("scipy", "prometheus_client"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out
