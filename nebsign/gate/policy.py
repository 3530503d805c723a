"""The ``[gates]`` policy table: tolerances, directions, thresholds, windows.

Numbers that decide a verdict are exact decimals: write them as strings
(``"5%"``, ``"0.1%"``, ``"0.95"``); a TOML float is taken by its written digits.
See ``policies/default.toml`` for the protocol's defaults.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nebsign._internal import fields
from nebsign.errors import InputError
from nebsign.gate.series import Selector
from nebsign.policy import load_toml, policy_digest

__all__ = [
    "CanaryMetric",
    "CanaryPolicy",
    "Direction",
    "GatesPolicy",
    "MetricKind",
    "StagingMetric",
    "StagingPolicy",
    "parse_gates_policy",
]


class Direction(enum.Enum):
    LOWER_IS_BETTER = "lower-is-better"
    HIGHER_IS_BETTER = "higher-is-better"


class MetricKind(enum.Enum):
    RATIO = "ratio"  # counter increase / counter increase, judged by its upper bound
    COUNT = "count"  # counter increase over the window, at most `max`
    GAUGE_MAX = "gauge-max"  # window maximum of a gauge, below `below`


@dataclass(frozen=True, slots=True)
class StagingMetric:
    name: str
    direction: Direction
    tolerance: Decimal


@dataclass(frozen=True, slots=True)
class StagingPolicy:
    tolerance: Decimal = Decimal("0.05")
    direction: Direction = Direction.LOWER_IS_BETTER
    confidence: Decimal = Decimal("0.90")
    min_runs: int = 5
    max_runs: int = 200
    metrics: tuple[StagingMetric, ...] = ()

    def metric(self, name: str) -> StagingMetric:
        for m in self.metrics:
            if m.name == name:
                return m
        return StagingMetric(name, self.direction, self.tolerance)


@dataclass(frozen=True, slots=True)
class CanaryMetric:
    name: str
    kind: MetricKind
    selector: Selector
    denominator: Selector | None
    limit: Decimal  # ratio/gauge: strictly below; count: at most

    def threshold(self) -> str:
        if self.kind is MetricKind.COUNT:
            return f"<= {self.limit}"
        return f"< {percent(self.limit)}"


@dataclass(frozen=True, slots=True)
class CanaryPolicy:
    window_hours: Decimal
    max_gap_seconds: Decimal
    min_samples: int
    confidence: Decimal
    metrics: tuple[CanaryMetric, ...]


@dataclass(frozen=True, slots=True)
class GatesPolicy:
    staging: StagingPolicy
    canary: CanaryPolicy
    regional: CanaryPolicy
    rollout_hours: Decimal
    digest: str
    #: the post-release watch after global (48 h by default, the canary's metrics)
    watch: CanaryPolicy | None = None


def percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def _fraction(value: Any, what: str, *, allow_zero: bool = False) -> Decimal:
    result = fields.decimal(value, what, percent=True)
    if result < 0 or result >= 1 or (result == 0 and not allow_zero):
        raise InputError(f'{what}: must be a fraction in (0, 1), e.g. "5%" or "0.95"')
    return result


def _selector(obj: Any, what: str) -> Selector:
    table = fields.table(obj, what, allowed={"name", "labels"})
    name = fields.string(table.get("name"), what, nonempty=True, expected="needs a metric 'name'")
    labels = table.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InputError(f"{what}: 'labels' must be a table of strings (globs)")
    return Selector(name, tuple(sorted(labels.items())))


def _direction(value: Any, what: str) -> Direction:
    try:
        return Direction(value)
    except ValueError as exc:
        raise InputError(f"{what}: 'direction' is lower-is-better or higher-is-better") from exc


def _staging(obj: Any, what: str) -> StagingPolicy:
    t = fields.table(
        obj,
        what,
        allowed={"tolerance", "direction", "confidence", "min_runs", "max_runs", "metrics"},
    )
    base = StagingPolicy()
    tolerance = (
        _fraction(t["tolerance"], f"{what}.tolerance") if "tolerance" in t else base.tolerance
    )
    direction = _direction(t["direction"], what) if "direction" in t else base.direction
    metrics = []
    listed = fields.table(t.get("metrics", {}), f"{what}.metrics")
    for name, spec in sorted(listed.items()):
        where = f"{what}.metrics.{name}"
        m = fields.table(spec, where, allowed={"direction", "tolerance"})
        metrics.append(
            StagingMetric(
                name,
                _direction(m["direction"], where) if "direction" in m else direction,
                _fraction(m["tolerance"], f"{where}.tolerance") if "tolerance" in m else tolerance,
            )
        )
    return StagingPolicy(
        tolerance=tolerance,
        direction=direction,
        confidence=(
            _fraction(t["confidence"], f"{what}.confidence")
            if "confidence" in t
            else base.confidence
        ),
        min_runs=fields.integer(t["min_runs"], f"{what}.min_runs", low=3)
        if "min_runs" in t
        else base.min_runs,
        max_runs=fields.integer(t["max_runs"], f"{what}.max_runs", low=3)
        if "max_runs" in t
        else base.max_runs,
        metrics=tuple(metrics),
    )


def _canary_metric(name: str, spec: Any, where: str) -> CanaryMetric:
    m = fields.table(
        spec,
        where,
        allowed={"kind", "numerator", "denominator", "counter", "gauge", "below", "max"},
    )
    try:
        kind = MetricKind(m.get("kind"))
    except ValueError as exc:
        raise InputError(f"{where}: 'kind' is ratio, count or gauge-max") from exc
    if kind is MetricKind.RATIO:
        if not {"numerator", "denominator", "below"} <= set(m):
            raise InputError(f"{where}: a ratio needs numerator, denominator and below")
        return CanaryMetric(
            name,
            kind,
            _selector(m["numerator"], f"{where}.numerator"),
            _selector(m["denominator"], f"{where}.denominator"),
            _fraction(m["below"], f"{where}.below"),
        )
    if kind is MetricKind.COUNT:
        if not {"counter", "max"} <= set(m):
            raise InputError(f"{where}: a count needs counter and max")
        return CanaryMetric(
            name,
            kind,
            _selector(m["counter"], f"{where}.counter"),
            None,
            Decimal(fields.integer(m["max"], f"{where}.max", low=0)),
        )
    if not {"gauge", "below"} <= set(m):
        raise InputError(f"{where}: a gauge-max needs gauge and below")
    return CanaryMetric(
        name,
        kind,
        _selector(m["gauge"], f"{where}.gauge"),
        None,
        fields.decimal(m["below"], where, percent=True),
    )


def _canary(obj: Any, what: str, default_hours: str, fallback: CanaryPolicy | None) -> CanaryPolicy:
    t = fields.table(
        obj,
        what,
        allowed={"window_hours", "max_gap_seconds", "min_samples", "confidence", "metrics"},
    )
    hours = fields.decimal(
        t.get("window_hours", default_hours), f"{what}.window_hours", percent=True
    )
    gap = fields.decimal(t.get("max_gap_seconds", 300), f"{what}.max_gap_seconds", percent=True)
    if hours <= 0 or gap <= 0:
        raise InputError(f"{what}: window_hours and max_gap_seconds must be positive")
    confidence = _fraction(t.get("confidence", "0.95"), f"{what}.confidence")
    min_samples = fields.integer(t.get("min_samples", 10), f"{what}.min_samples", low=2)
    if "metrics" in t:
        specs = fields.table(t["metrics"], f"{what}.metrics")
        metrics = tuple(
            _canary_metric(name, spec, f"{what}.metrics.{name}") for name, spec in specs.items()
        )
    elif fallback is not None:
        metrics = fallback.metrics
    else:
        metrics = ()
    return CanaryPolicy(hours, gap, min_samples, confidence, metrics)


def parse_gates_policy(raw: bytes, what: str = "policy") -> GatesPolicy:
    """The ``[gates]`` table of a policy file; :class:`InputError` if malformed or absent."""
    obj = load_toml(raw, what)
    gates = obj.get("gates")
    if gates is None:
        raise InputError(f"{what}: no [gates] table")
    g = fields.table(
        gates, f"{what} [gates]", allowed={"staging", "canary", "regional", "rollout", "watch"}
    )
    canary = _canary(g.get("canary", {}), "gates.canary", "4", None)
    regional = _canary(g.get("regional", {}), "gates.regional", "12", canary)
    rollout = fields.table(g.get("rollout", {}), "gates.rollout", allowed={"max_hours"})
    max_hours = fields.decimal(
        rollout.get("max_hours", 24), "gates.rollout.max_hours", percent=True
    )
    return GatesPolicy(
        staging=_staging(g.get("staging", {}), "gates.staging"),
        canary=canary,
        regional=regional,
        rollout_hours=max_hours,
        digest=policy_digest(raw),
        watch=_canary(g.get("watch", {}), "gates.watch", "48", canary),
    )
