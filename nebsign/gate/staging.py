"""The staging gate: each KPI's runs against its baseline runs (pure, no I/O).

Runs are the unit, not samples. The relative change is the Hodges-Lehmann
estimate of ``current / baseline`` (the median of all pairwise ratios) with
the distribution-free Mann-Whitney confidence interval (order statistics of
the same ratios; exact U distribution for small samples). Ratios are
computed in decimal arithmetic, so a change of exactly the tolerance is
exactly the tolerance: 5.00% passes, 5.01% fails, every time.

Decision, criterion.rs-style, per metric with regression ``r`` (the change in
the bad direction, relative to the baseline) and tolerance ``t``:

* FAIL when the whole interval is beyond the tolerance (``r_lo > t``);
* PASS when the whole interval is within it (``r_hi <= t``; improvements pass);
* INCONCLUSIVE otherwise, with the runs per side that would likely decide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from functools import lru_cache, partial

from nebsign.gate.model import (
    GateKind,
    GateResult,
    MetricResult,
    Reason,
    Verdict,
    combine,
)
from nebsign.gate.policy import Direction, StagingMetric, StagingPolicy, percent

__all__ = ["judge_metric", "judge_staging", "mann_whitney_rank"]

_EXACT_LIMIT = 2500  # n*m up to which the U distribution is computed exactly
_PREC = 40
_MAX_NEEDED = 100_000


@lru_cache(maxsize=256)
def _u_cdf_counts(m: int, n: int) -> tuple[int, ...]:
    """Cumulative counts of the Mann-Whitney U statistic under H0 (Gaussian binomial)."""
    poly = [1]
    for i in range(1, m + 1):
        a = n + i
        grown = poly + [0] * a
        for k in range(len(grown) - 1, a - 1, -1):
            grown[k] -= grown[k - a]
        out = [0] * (len(grown) - i)
        for k in range(len(out)):
            out[k] = grown[k] + (out[k - i] if k >= i else 0)
        poly = out
    cum, total = [], 0
    for c in poly[: m * n + 1]:
        total += c
        cum.append(total)
    return tuple(cum)


def mann_whitney_rank(m: int, n: int, confidence: Decimal) -> int:
    """k (1-based) such that ratios[k-1] .. ratios[m*n-k] is the interval; 0: too few runs.

    The largest k with P(U <= k-1) <= (1-confidence)/2 under H0.
    """
    alpha_half = (1 - confidence) / 2
    if m * n <= _EXACT_LIMIT:
        cum = _u_cdf_counts(min(m, n), max(m, n))
        total = Decimal(cum[-1])
        k = 0
        while k < len(cum) and Decimal(cum[k]) / total <= alpha_half:
            k += 1
        return k
    from scipy.stats import norm

    z = float(norm.ppf(1 - float(alpha_half)))
    return max(0, math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12)))


def _median(sorted_values: Sequence[Decimal]) -> Decimal:
    size = len(sorted_values)
    mid = size // 2
    if size % 2:
        return sorted_values[mid]
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def judge_metric(
    spec: StagingMetric,
    baseline: Sequence[Decimal],
    current: Sequence[Decimal],
    policy: StagingPolicy,
) -> MetricResult:
    """The verdict on one KPI from its baseline and current runs."""
    samples = (("baseline", len(baseline)), ("current", len(current)))
    threshold = (
        f"{'+' if spec.direction is Direction.LOWER_IS_BETTER else '-'}{percent(spec.tolerance)}"
    )

    result = partial(MetricResult, spec.name, threshold=threshold, samples=samples)

    if not baseline or not current:
        side = "baseline" if not baseline else "current"
        return result(Verdict.FAIL, Reason.MISSING_SERIES, f"no {side} runs")
    if any(v <= 0 for v in (*baseline, *current)):
        return result(Verdict.FAIL, Reason.INVALID_VALUES, "a run value is zero or negative")
    most = max(len(baseline), len(current))
    if most > policy.max_runs:
        return result(
            Verdict.FAIL, Reason.INVALID_VALUES, f"more than {policy.max_runs} runs on a side"
        )
    k = mann_whitney_rank(len(baseline), len(current), policy.confidence)
    fewest = min(len(baseline), len(current))
    if fewest < policy.min_runs or k < 1:
        need = max(policy.min_runs, fewest + 1)
        return result(
            Verdict.INCONCLUSIVE,
            Reason.TOO_FEW_RUNS,
            f"{fewest} run(s) on a side; at least {need} per side needed",
            needed=need,
        )
    with localcontext() as ctx:
        ctx.prec = _PREC
        ratios = sorted(c / b for b in baseline for c in current)
        estimate, lo, hi = _median(ratios), ratios[k - 1], ratios[len(ratios) - k]
        if spec.direction is Direction.LOWER_IS_BETTER:
            reg, reg_lo, reg_hi = estimate - 1, lo - 1, hi - 1
        else:
            reg, reg_lo, reg_hi = 1 - estimate, 1 - hi, 1 - lo
    interval = (reg_lo, reg_hi)
    shown = f"change {_pct(reg)} in the bad direction, interval [{_pct(reg_lo)}, {_pct(reg_hi)}]"
    conf = f"{percent(policy.confidence)} interval"
    if reg_lo > spec.tolerance:
        return result(
            Verdict.FAIL,
            Reason.BEYOND,
            f"{shown}: the whole {conf} is beyond the tolerance {percent(spec.tolerance)}",
            statistic=reg,
            interval=interval,
        )
    if reg_hi <= spec.tolerance:
        return result(
            Verdict.PASS,
            Reason.WITHIN,
            f"{shown}: within {percent(spec.tolerance)}",
            statistic=reg,
            interval=interval,
        )
    needed = _runs_needed(reg, reg_lo, reg_hi, spec.tolerance, most)
    more = f"about {needed} runs per side may decide" if needed else "more runs cannot decide"
    return result(
        Verdict.INCONCLUSIVE,
        Reason.UNCERTAIN,
        f"{shown} straddles the tolerance {percent(spec.tolerance)}; {more}",
        statistic=reg,
        interval=interval,
        needed=needed,
    )


def _pct(value: Decimal) -> str:
    return f"{value * 100:+.2f}%"


def _runs_needed(est: Decimal, lo: Decimal, hi: Decimal, tol: Decimal, runs: int) -> int | None:
    """Runs per side at which the interval (shrinking as 1/sqrt(n)) clears the tolerance."""
    distance = abs(est - tol)
    if distance == 0:
        return None
    half = max(est - lo, hi - est)
    need = math.ceil(runs * float(half / distance) ** 2)
    return min(max(need, runs + 1), _MAX_NEEDED)


def judge_staging(
    baseline: Mapping[str, Sequence[Decimal]],
    current: Mapping[str, Sequence[Decimal]],
    policy: StagingPolicy,
) -> GateResult:
    """Every KPI named in the policy or on either side; one missing side fails closed."""
    names = sorted({*baseline, *current, *(m.name for m in policy.metrics)})
    rows = [
        judge_metric(policy.metric(n), baseline.get(n, ()), current.get(n, ()), policy)
        for n in names
    ]
    return combine(GateKind.STAGING, rows, None)
