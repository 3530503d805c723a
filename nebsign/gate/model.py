"""Values shared by the gates: verdicts, typed reasons, per-metric and gate results."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from nebsign.errors import InputError, VerdictError

__all__ = [
    "GateFailed",
    "GateInconclusive",
    "GateKind",
    "GateResult",
    "InvalidMetrics",
    "MetricResult",
    "Reason",
    "Verdict",
    "Window",
    "combine",
]


class Verdict(enum.Enum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class GateKind(enum.Enum):
    STAGING = "staging"
    CANARY = "canary"
    REGIONAL = "regional"
    WATCH = "watch"


class Reason(enum.Enum):
    """Why a metric got its verdict (a closed set: reports and tests match on it)."""

    WITHIN = "within-threshold"
    BEYOND = "beyond-threshold"
    UNCERTAIN = "interval-straddles-threshold"
    TOO_FEW_RUNS = "too-few-runs"
    NEEDS_VOLUME = "needs-more-volume"
    MISSING_SERIES = "missing-series"
    TOO_FEW_SAMPLES = "too-few-samples"
    GAP = "gap"
    SHORT_WINDOW = "short-window"
    INVALID_VALUES = "invalid-values"


class InvalidMetrics(InputError):
    """A metrics file is malformed: syntax, duplicate series, mixed timestamp units."""

    reason = "invalid-metrics"

    def __init__(self, message: str, *, kind: str = "malformed", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        #: typed reason: malformed | duplicate-series | mixed-timestamp-units | too-large
        self.kind = kind


class GateFailed(VerdictError):
    """A gate said FAIL."""

    reason = "gate-failed"


class GateInconclusive(VerdictError):
    """A gate could not decide (too few runs, too little volume); never a pass."""

    reason = "gate-inconclusive"


@dataclass(frozen=True, slots=True)
class Window:
    """The observation window, from the samples' own timestamps (epoch seconds)."""

    start: Decimal
    end: Decimal

    @property
    def seconds(self) -> Decimal:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One row of the decision table."""

    name: str
    verdict: Verdict
    reason: Reason
    detail: str
    threshold: str
    statistic: Decimal | None = None
    interval: tuple[Decimal, Decimal] | None = None
    samples: tuple[tuple[str, int], ...] = ()
    #: more runs (staging, per side) or more volume (canary) needed to decide
    needed: int | None = None


@dataclass(frozen=True, slots=True)
class GateResult:
    """The verdict of one gate over all its metrics."""

    gate: GateKind
    verdict: Verdict
    reason: str
    metrics: tuple[MetricResult, ...]
    window: Window | None = None

    def counts(self) -> dict[str, int]:
        return {v.value: sum(1 for m in self.metrics if m.verdict is v) for v in Verdict}


def combine(gate: GateKind, metrics: list[MetricResult], window: Window | None) -> GateResult:
    """FAIL if any metric fails, else INCONCLUSIVE if any is, else PASS (never for no metrics)."""
    if not metrics:
        raise InputError(f"{gate.value} gate: no metrics to judge; a gate of nothing never passes")
    for verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        bad = [m for m in metrics if m.verdict is verdict]
        if bad:
            first = bad[0]
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            reason = f"{first.name}: {first.reason.value}: {first.detail}{more}"
            return GateResult(gate, verdict, reason, tuple(metrics), window)
    return GateResult(
        gate,
        Verdict.PASS,
        f"all {len(metrics)} metric(s) within their thresholds",
        tuple(metrics),
        window,
    )
