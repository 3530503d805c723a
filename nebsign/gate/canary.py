"""The canary and regional gates: the protocol's thresholds over an observation window (pure).

The window is judged from the samples' own timestamps: from the earliest to
the latest sample of every series a metric selects. Every selected series
must cover that window with no gap longer than ``max_gap_seconds`` and have
at least ``min_samples`` samples, and the window must last ``window_hours``;
otherwise the gate fails closed with a typed reason.

Counters count by their exact increase over the window (a value lower than
its predecessor is a reset: the counter restarted from zero), summed across
series. A ratio (5xx per request, crashes per session) is judged by the
one-sided Clopper-Pearson upper confidence bound, not the point rate: PASS if
the bound is below the limit, FAIL if the point rate is not, INCONCLUSIVE
(with the volume needed) in between.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import partial

from nebsign.errors import InputError
from nebsign.gate.model import (
    GateKind,
    GateResult,
    InvalidMetrics,
    MetricResult,
    Reason,
    Verdict,
    Window,
    combine,
)
from nebsign.gate.policy import CanaryMetric, CanaryPolicy, MetricKind, percent
from nebsign.gate.series import MetricSet, Series

__all__ = ["counter_increase", "judge_canary", "upper_bound", "volume_needed"]

_MAX_VOLUME = 10**13


def counter_increase(series: Series) -> Decimal:
    """Exact increase of a counter over its samples, counting resets."""
    total = Decimal(0)
    values = [s.value for s in series.samples]
    for before, after in itertools.pairwise(values):
        total += after - before if after >= before else after
    return total


def upper_bound(errors: int, volume: int, confidence: Decimal) -> Decimal:
    """One-sided Clopper-Pearson upper bound of a binomial rate."""
    if errors >= volume:
        return Decimal(1)
    from scipy.stats import beta

    bound = Decimal(repr(float(beta.ppf(float(confidence), errors + 1, volume - errors))))
    return bound.quantize(Decimal("1e-12"), rounding=ROUND_CEILING)  # rounded up: conservative


def volume_needed(rate: Decimal, limit: Decimal, confidence: Decimal) -> int | None:
    """Smallest volume at which the observed *rate* would prove ``rate < limit``."""
    if rate >= limit:
        return None

    def proves(n: int) -> bool:
        return upper_bound(math.ceil(rate * n), n, confidence) < limit

    lo, hi = 1, 2
    while not proves(hi):
        lo, hi = hi, hi * 2
        if hi > _MAX_VOLUME:
            return None
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if proves(mid) else (mid, hi)
    return hi


def _window(series: Sequence[Series]) -> Window | None:
    stamps = [s.timestamp for ser in series for s in ser.samples if s.timestamp is not None]
    return Window(min(stamps), max(stamps)) if stamps else None


def _coverage(
    series: Sequence[Series], window: Window, policy: CanaryPolicy
) -> tuple[Reason, str] | None:
    """Why the selected series cannot be trusted over the window, or None."""
    gap = policy.max_gap_seconds
    for ser in series:
        stamps = [s.timestamp for s in ser.samples]
        if len(stamps) < policy.min_samples:
            return Reason.TOO_FEW_SAMPLES, (
                f"{ser.shown()} has {len(stamps)} sample(s), at least {policy.min_samples} needed"
            )
        edges = [window.start, *stamps, window.end]
        for a, b in itertools.pairwise(edges):
            assert a is not None and b is not None
            if b - a > gap:
                return Reason.GAP, (
                    f"{ser.shown()} has no sample for {_dur(b - a)} (more than {_dur(gap)})"
                )
    return None


def _hours(seconds: Decimal) -> Decimal:
    return (seconds / 3600).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)


def _dur(seconds: Decimal) -> str:
    total = int(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _judge_one(
    metric: CanaryMetric, data: MetricSet, window: Window, policy: CanaryPolicy
) -> MetricResult:
    selectors = [metric.selector] + ([metric.denominator] if metric.denominator else [])
    picked = [data.select(sel) for sel in selectors]
    counts = tuple(
        (sel.shown(), sum(len(s.samples) for s in ser))
        for sel, ser in zip(selectors, picked, strict=True)
    )

    result = partial(MetricResult, metric.name, threshold=metric.threshold(), samples=counts)

    for sel, ser in zip(selectors, picked, strict=True):
        if not ser:
            return result(Verdict.FAIL, Reason.MISSING_SERIES, f"no series {sel.shown()}")
        bad = _coverage(ser, window, policy)
        if bad is not None:
            return result(Verdict.FAIL, bad[0], bad[1])
    if metric.kind is MetricKind.GAUGE_MAX:
        top = max(s.value for ser in picked[0] for s in ser.samples)
        ok = top < metric.limit
        return result(
            Verdict.PASS if ok else Verdict.FAIL,
            Reason.WITHIN if ok else Reason.BEYOND,
            f"window maximum {percent(top)} {'<' if ok else '>='} {percent(metric.limit)}",
            statistic=top,
        )
    if any(p.value < 0 for ser in picked for one in ser for p in one.samples):
        return result(Verdict.FAIL, Reason.INVALID_VALUES, "a counter has a negative value")
    increases = [sum((counter_increase(s) for s in ser), Decimal(0)) for ser in picked]
    for ser, inc in zip(picked, increases, strict=True):
        if any(s.kind == "gauge" for s in ser) or inc != inc.to_integral_value():
            return result(
                Verdict.FAIL, Reason.INVALID_VALUES, f"{ser[0].shown()} is not a counter of events"
            )
    errors = int(increases[0])
    if metric.kind is MetricKind.COUNT:
        ok = errors <= metric.limit
        return result(
            Verdict.PASS if ok else Verdict.FAIL,
            Reason.WITHIN if ok else Reason.BEYOND,
            f"{errors} in the window (at most {metric.limit})",
            statistic=Decimal(errors),
        )
    volume = int(increases[1])
    if errors > volume:
        return result(Verdict.FAIL, Reason.INVALID_VALUES, f"{errors} events out of {volume}")
    if volume == 0:
        need = volume_needed(Decimal(0), metric.limit, policy.confidence)
        return result(
            Verdict.INCONCLUSIVE,
            Reason.NEEDS_VOLUME,
            f"no volume in the window; about {need} needed",
            needed=need,
        )
    rate = Decimal(errors) / volume
    bound = upper_bound(errors, volume, policy.confidence)
    q = Decimal("1e-8")
    shown = (
        f"{errors}/{volume} = {percent(rate.quantize(q))}, upper bound {percent(bound.quantize(q))}"
    )
    if rate >= metric.limit:
        return result(
            Verdict.FAIL,
            Reason.BEYOND,
            f"{shown}: the rate is not below {percent(metric.limit)}",
            statistic=bound,
            interval=(Decimal(0), bound),
        )
    if bound < metric.limit:
        return result(
            Verdict.PASS,
            Reason.WITHIN,
            f"{shown} < {percent(metric.limit)}",
            statistic=bound,
            interval=(Decimal(0), bound),
        )
    need = volume_needed(rate, metric.limit, policy.confidence)
    return result(
        Verdict.INCONCLUSIVE,
        Reason.NEEDS_VOLUME,
        f"{shown} is not below {percent(metric.limit)}; about {need} needed at this rate",
        statistic=bound,
        interval=(Decimal(0), bound),
        needed=need,
    )


def judge_canary(
    data: MetricSet, policy: CanaryPolicy, gate: GateKind = GateKind.CANARY
) -> GateResult:
    """The canary (or regional) verdict on the samples in *data*."""
    if not policy.metrics:
        raise InputError(f"policy: no [gates.{gate.value}.metrics]; a gate of nothing never passes")
    selected = [
        s
        for m in policy.metrics
        for sel in (m.selector, m.denominator)
        if sel
        for s in data.select(sel)
    ]
    for ser in selected:
        if any(p.timestamp is None for p in ser.samples):
            raise InvalidMetrics(f"{ser.shown()}: canary samples need timestamps")
    window = _window(selected)
    rows = [_window_row(window, policy.window_hours * 3600)]
    judged = window if window is not None else Window(Decimal(0), Decimal(0))
    rows.extend(_judge_one(m, data, judged, policy) for m in policy.metrics)
    return combine(gate, rows, window)


def _window_row(window: Window | None, need: Decimal) -> MetricResult:
    """The observation window as the first row of the decision table."""
    threshold = f">= {_dur(need)}"
    if window is None or window.seconds < need:
        have = _dur(window.seconds) if window else "no samples"
        return MetricResult(
            "observation-window",
            Verdict.FAIL,
            Reason.SHORT_WINDOW,
            f"{have} < {_dur(need)}",
            threshold,
            statistic=_hours(window.seconds) if window else Decimal(0),
        )
    return MetricResult(
        "observation-window",
        Verdict.PASS,
        Reason.WITHIN,
        f"{_dur(window.seconds)} >= {_dur(need)}",
        threshold,
        statistic=_hours(window.seconds),
    )
