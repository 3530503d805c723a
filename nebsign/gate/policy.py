"""The ``[gates]`` policy table: tolerances, directions, thresholds, windows.

Numbers that decide a verdict are exact decimals: write them as strings
(``"5%"``, ``"0.1%"``, ``"0.95"``); a TOML float is taken by its written digits.
See ``policies/default.toml`` for the protocol's defaults.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from nebsign.errors import InputError
from nebsign.gate.series import Selector, exact
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


def _number(value: Any, what: str) -> Decimal:
    if isinstance(value, str):
        text = value.strip()
        scale = Decimal(1)
        if text.endswith("%"):
            text, scale = text[:-1], Decimal("0.01")
        try:
            result = Decimal(text) * scale
        except InvalidOperation as exc:
            raise InputError(f'{what}: {value!r:.40} is not a number like "5%"') from exc
        if not result.is_finite():
            raise InputError(f"{what}: {value!r:.40} is not finite")
        return result
    try:
        return exact(value, what)
    except InputError as exc:
        raise InputError(exc.message) from exc


def _fraction(value: Any, what: str, *, allow_zero: bool = False) -> Decimal:
    result = _number(value, what)
    if result < 0 or result >= 1 or (result == 0 and not allow_zero):
        raise InputError(f'{what}: must be a fraction in (0, 1), e.g. "5%" or "0.95"')
    return result


def _int(value: Any, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{what}: must be an integer >= {low}")
    return value


def _table(obj: Any, what: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{what}: must be a table")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r}")
    return obj


def _selector(obj: Any, what: str) -> Selector:
    table = _table(obj, what, {"name", "labels"})
    name, labels = table.get("name"), table.get("labels", {})
    if not isinstance(name, str) or not name:
        raise InputError(f"{what}: needs a metric 'name'")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InputError(f"{what}: 'labels' must be a table of strings (globs)")
    return Selector(name, tuple(sorted(labels.items())))


def _direction(value: Any, what: str) -> Direction:
    try:
        return Direction(value)
    except ValueError as exc:
        raise InputError(f"{what}: 'direction' is lower-is-better or higher-is-better") from exc


def _staging(obj: Any, what: str) -> StagingPolicy:
    t = _table(
        obj, what, {"tolerance", "direction", "confidence", "min_runs", "max_runs", "metrics"}
    )
    base = StagingPolicy()
    tolerance = (
        _fraction(t["tolerance"], f"{what}.tolerance") if "tolerance" in t else base.tolerance
    )
    direction = _direction(t["direction"], what) if "direction" in t else base.direction
    metrics = []
    listed = t.get("metrics", {})
    if not isinstance(listed, dict):
        raise InputError(f"{what}.metrics: must be a table")
    for name, spec in sorted(listed.items()):
        where = f"{what}.metrics.{name}"
        m = _table(spec, where, {"direction", "tolerance"})
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
        min_runs=_int(t["min_runs"], f"{what}.min_runs", 3) if "min_runs" in t else base.min_runs,
        max_runs=_int(t["max_runs"], f"{what}.max_runs", 3) if "max_runs" in t else base.max_runs,
        metrics=tuple(metrics),
    )


def _canary_metric(name: str, spec: Any, where: str) -> CanaryMetric:
    m = _table(
        spec, where, {"kind", "numerator", "denominator", "counter", "gauge", "below", "max"}
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
            Decimal(_int(m["max"], f"{where}.max", 0)),
        )
    if not {"gauge", "below"} <= set(m):
        raise InputError(f"{where}: a gauge-max needs gauge and below")
    return CanaryMetric(
        name, kind, _selector(m["gauge"], f"{where}.gauge"), None, _number(m["below"], where)
    )


def _canary(obj: Any, what: str, default_hours: str, fallback: CanaryPolicy | None) -> CanaryPolicy:
    t = _table(
        obj, what, {"window_hours", "max_gap_seconds", "min_samples", "confidence", "metrics"}
    )
    hours = _number(t.get("window_hours", default_hours), f"{what}.window_hours")
    gap = _number(t.get("max_gap_seconds", 300), f"{what}.max_gap_seconds")
    if hours <= 0 or gap <= 0:
        raise InputError(f"{what}: window_hours and max_gap_seconds must be positive")
    confidence = _fraction(t.get("confidence", "0.95"), f"{what}.confidence")
    min_samples = _int(t.get("min_samples", 10), f"{what}.min_samples", 2)
    if "metrics" in t:
        specs = t["metrics"]
        if not isinstance(specs, dict):
            raise InputError(f"{what}.metrics: must be a table")
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
    g = _table(gates, f"{what} [gates]", {"staging", "canary", "regional", "rollout", "watch"})
    canary = _canary(g.get("canary", {}), "gates.canary", "4", None)
    regional = _canary(g.get("regional", {}), "gates.regional", "12", canary)
    rollout = _table(g.get("rollout", {}), "gates.rollout", {"max_hours"})
    max_hours = _number(rollout.get("max_hours", 24), "gates.rollout.max_hours")
    return GatesPolicy(
        staging=_staging(g.get("staging", {}), "gates.staging"),
        canary=canary,
        regional=regional,
        rollout_hours=max_hours,
        digest=policy_digest(raw),
        watch=_canary(g.get("watch", {}), "gates.watch", "48", canary),
    )
