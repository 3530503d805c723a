"""Staging gate: the 5% boundary exactly, improvements, too few runs, seeded simulations."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest
from gatekit import D, default_policy, runs_json
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.gate.model import Reason, Verdict
from nebsign.gate.policy import Direction, StagingMetric, StagingPolicy
from nebsign.gate.run import run_staging
from nebsign.gate.staging import judge_metric, mann_whitney_rank

LOWER = StagingMetric("latency", Direction.LOWER_IS_BETTER, D("0.05"))
HIGHER = StagingMetric("throughput", Direction.HIGHER_IS_BETTER, D("0.05"))
POLICY = StagingPolicy()


def _judge(spec: StagingMetric, base: list[Decimal], cur: list[Decimal]) -> Verdict:
    return judge_metric(spec, base, cur, POLICY).verdict


# values as a build server writes them: up to 6 decimals, up to 1e6
_values = st.decimals(min_value=D("0.001"), max_value=D(1_000_000), places=3)


@settings(max_examples=300, deadline=None)
@given(base=_values, runs=st.integers(5, 12))
def test_exactly_five_percent_passes_and_5_01_fails(base: Decimal, runs: int) -> None:
    """Through the file format too: the JSON text "73.5" vs "70" is exactly 5%."""
    at = base * D("1.05")
    over = base * D("1.0501")
    for cur, want in ((at, Verdict.PASS), (over, Verdict.FAIL)):
        raw_b = runs_json({"latency": [str(base)] * runs})
        raw_c = runs_json({"latency": [str(cur)] * runs})
        policy = default_policy()
        result = run_staging([("b", raw_b)], [("c", raw_c)], _without_listed(policy))
        assert result.verdict is want, (base, cur, result.reason)


def _without_listed(policy):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(policy, staging=replace(policy.staging, metrics=()))


def test_float_arithmetic_would_fail_exact_five_percent() -> None:
    """The reason for decimals: 0.00315 / 0.003 - 1 > 0.05 in binary floating point."""
    assert 0.00315 / 0.003 - 1 > 0.05
    assert _judge(LOWER, [D("0.003")] * 5, [D("0.00315")] * 5) is Verdict.PASS


@given(base=_values, runs=st.integers(5, 9))
@settings(max_examples=100, deadline=None)
def test_higher_is_better_boundary(base: Decimal, runs: int) -> None:
    assert _judge(HIGHER, [base] * runs, [base * D("0.95")] * runs) is Verdict.PASS
    assert _judge(HIGHER, [base] * runs, [base * D("0.9499")] * runs) is Verdict.FAIL


@pytest.mark.parametrize("factor", ["0.5", "0.8", "0.9999", "1"])
def test_improvements_never_fail(factor: str) -> None:
    rng = random.Random(5)
    base = [D(repr(round(100 * (1 + rng.gauss(0, 0.03)), 4))) for _ in range(20)]
    better = [b * D(factor) for b in base]
    assert _judge(LOWER, base, better) is Verdict.PASS
    faster = [b / D(factor) for b in base]
    assert _judge(HIGHER, base, faster) is Verdict.PASS


def test_too_few_runs_is_inconclusive_with_runs_needed() -> None:
    result = judge_metric(LOWER, [D(100)] * 4, [D(200)] * 4, POLICY)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.reason is Reason.TOO_FEW_RUNS
    assert result.needed == 5


def test_noise_straddling_the_tolerance_is_inconclusive_never_pass() -> None:
    rng = random.Random(11)
    base = [D(repr(round(100 * (1 + rng.gauss(0, 0.06)), 4))) for _ in range(8)]
    cur = [D(repr(round(105 * (1 + rng.gauss(0, 0.06)), 4))) for _ in range(8)]
    result = judge_metric(LOWER, base, cur, POLICY)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.reason is Reason.UNCERTAIN
    assert result.needed is not None and result.needed > 8
    assert "runs per side" in result.detail


def test_missing_metric_on_one_side_fails_closed() -> None:
    raw_b = runs_json({"latency": [1, 1, 1, 1, 1], "gone": [1, 1, 1, 1, 1]})
    raw_c = runs_json({"latency": [1, 1, 1, 1, 1]})
    result = run_staging([("b", raw_b)], [("c", raw_c)], _without_listed(default_policy()))
    assert result.verdict is Verdict.FAIL
    gone = next(m for m in result.metrics if m.name == "gone")
    assert gone.reason is Reason.MISSING_SERIES


def test_listed_kpi_missing_from_both_sides_fails_closed() -> None:
    raw = runs_json({"latency": [1, 1, 1, 1, 1]})
    result = run_staging([("b", raw)], [("c", raw)], default_policy())
    assert result.verdict is Verdict.FAIL
    assert {m.name for m in result.metrics if m.reason is Reason.MISSING_SERIES} >= {
        "api_latency_p99_ms",
        "throughput_orders_per_s",
    }


def test_zero_or_negative_runs_fail_closed() -> None:
    assert _judge(LOWER, [D(0)] * 5, [D(1)] * 5) is Verdict.FAIL


def test_mann_whitney_rank_matches_published_table() -> None:
    # one-sided 5% critical value of U for n1 = n2 = 10 is 27 (so k = 28)
    assert mann_whitney_rank(10, 10, D("0.90")) == 28
    # n1 = n2 = 20: 138 (k = 139)
    assert mann_whitney_rank(20, 20, D("0.90")) == 139
    assert mann_whitney_rank(3, 3, D("0.90")) == 1


# --- seeded simulations (issue 14): runs are the unit -------------------------------------
#
# "4% run-to-run drift": each run's value is the true value times (1 + e) with
# e ~ N(0, 2%), so 95% of runs lie within +-4% of the truth. Identical code is
# also simulated with the current side drifted a systematic +4% (a warmer
# machine), and with a 4% standard deviation per run.

TRIALS = 1000


def _simulate(seed: int, shift: float, sd: float, drift: float = 0.0) -> Counter[str]:
    rng = random.Random(seed)
    out: Counter[str] = Counter()
    for _ in range(TRIALS):
        base = [D(repr(round(100 * (1 + rng.gauss(0, sd)), 6))) for _ in range(20)]
        cur = [
            D(repr(round(100 * (1 + shift + drift) * (1 + rng.gauss(0, sd)), 6))) for _ in range(20)
        ]
        out[judge_metric(LOWER, base, cur, POLICY).verdict.value] += 1
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sd", "drift"), [(0.02, 0.0), (0.02, 0.04), (0.04, 0.0)], ids=["2sd", "2sd+4drift", "4sd"]
)
def test_identical_code_false_fail_at_most_one_percent(sd: float, drift: float) -> None:
    counts = _simulate(2026, 0.0, sd, drift)
    assert counts["fail"] <= TRIALS // 100, counts


@pytest.mark.slow
def test_seven_percent_regression_detected_at_least_85_percent() -> None:
    counts = _simulate(2027, 0.07, 0.02)
    assert counts["fail"] >= TRIALS * 85 // 100, counts
    assert counts["pass"] == 0, counts  # never a silent pass of a real regression


@pytest.mark.slow
def test_seven_percent_regression_under_heavy_noise_is_never_a_pass() -> None:
    """With 4% per-run noise, 20 runs cannot prove 7% > 5%: INCONCLUSIVE, not PASS."""
    counts = _simulate(2028, 0.07, 0.04)
    assert counts["pass"] <= TRIALS // 100, counts


def test_prometheus_files_one_run_each() -> None:
    rng = random.Random(3)

    def scrape(factor: float) -> tuple[str, bytes]:
        value = round(310 * factor * (1 + rng.gauss(0, 0.01)), 3)
        return "run.prom", f"order_match_latency_p99_us {value}\n".encode()

    policy = _without_listed(default_policy())
    base = [scrape(1.0) for _ in range(8)]
    assert run_staging(base, [scrape(1.0) for _ in range(8)], policy).verdict is Verdict.PASS
    slow = run_staging(base, [scrape(1.2) for _ in range(8)], policy)
    assert slow.verdict is Verdict.FAIL
    assert dict(slow.metrics[0].samples) == {"baseline": 8, "current": 8}


@settings(max_examples=200, deadline=None)
@given(
    base=st.lists(_values, min_size=5, max_size=12),
    factor=st.decimals(min_value=D("0.2"), max_value=D(1), places=4),
    scale=st.decimals(min_value=D("0.001"), max_value=D(1000), places=3),
)
def test_improvements_never_fail_and_units_do_not_matter(
    base: list[Decimal], factor: Decimal, scale: Decimal
) -> None:
    cur = [b * factor for b in base]
    result = judge_metric(LOWER, base, cur, POLICY)
    assert result.verdict is not Verdict.FAIL
    scaled = judge_metric(LOWER, [b * scale for b in base], [c * scale for c in cur], POLICY)
    assert scaled.verdict is result.verdict
