"""Canary and regional gates: each threshold at, just under and just over its limit; windows,
resets, missing and duplicate series, gaps; the volume needed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from gatekit import D, default_policy, generator
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.gate.canary import counter_increase, volume_needed
from nebsign.gate.model import GateKind, GateResult, InvalidMetrics, Reason, Verdict
from nebsign.gate.run import run_canary
from nebsign.gate.series import Sample, Series

GEN = generator()
TOTAL = 250 * 40 * 60  # requests in the default sample window


def judge(gate: GateKind = GateKind.CANARY, policy: Any = None, **kw: Any) -> GateResult:
    text = GEN.canary(**kw).encode()
    return run_canary([("canary.om", text)], policy or default_policy(), gate)


def row(result: GateResult, name: str) -> Any:
    return next(m for m in result.metrics if m.name == name)


def test_clean_canary_passes() -> None:
    result = judge()
    assert result.verdict is Verdict.PASS, result.reason
    assert result.window is not None and result.window.seconds == 250 * 60


@pytest.mark.parametrize(
    ("errors", "verdict"),
    [(601, Verdict.FAIL), (600, Verdict.FAIL), (599, Verdict.INCONCLUSIVE), (0, Verdict.PASS)],
    ids=["just-over", "at", "just-under", "zero"],
)
def test_http_5xx_threshold(errors: int, verdict: Verdict) -> None:
    result = judge(errors_at={100: errors})
    m = row(result, "http_5xx")
    assert m.verdict is verdict, m.detail
    assert f"{errors}/{TOTAL}" in m.detail
    if verdict is Verdict.INCONCLUSIVE:
        # the point rate is under 0.1% but its upper bound is not: more volume is needed
        assert m.reason is Reason.NEEDS_VOLUME and m.needed is not None and m.needed > TOTAL


def test_http_5xx_just_under_with_enough_volume_passes() -> None:
    # 0.09% of 6,000,000 requests: the upper bound is under 0.1%
    result = judge(rps=400, errors_at={100: 5400})
    assert row(result, "http_5xx").verdict is Verdict.PASS


def test_volume_needed_for_zero_errors_is_about_3000() -> None:
    need = volume_needed(Decimal(0), D("0.001"), D("0.95"))
    assert need is not None and 2990 <= need <= 3000


@pytest.mark.parametrize(
    ("failed", "limit", "verdict"),
    [
        (0, 0, Verdict.PASS),
        (1, 0, Verdict.FAIL),
        (1, 2, Verdict.PASS),
        (2, 2, Verdict.PASS),
        (3, 2, Verdict.FAIL),
    ],
)
def test_failed_trades_threshold(failed: int, limit: int, verdict: Verdict) -> None:
    policy = default_policy()
    metrics = tuple(
        replace(m, limit=Decimal(limit)) if m.name == "failed_trades" else m
        for m in policy.canary.metrics
    )
    policy = replace(policy, canary=replace(policy.canary, metrics=metrics))
    result = judge(policy=policy, failed_trades_at=tuple([50] * failed))
    assert row(result, "failed_trades").verdict is verdict


@pytest.mark.parametrize(
    ("crashes", "verdict"),
    [(5, Verdict.FAIL), (4, Verdict.FAIL), (3, Verdict.INCONCLUSIVE), (0, Verdict.PASS)],
    ids=["over", "just-over", "just-under", "zero"],
)
def test_session_crash_threshold(crashes: int, verdict: Verdict) -> None:
    # 7,500 sessions: 0.05% is 3.75 crashes
    assert row(judge(crash_at=tuple([10] * crashes)), "session_crashes").verdict is verdict


@pytest.mark.parametrize(
    ("peak", "verdict"),
    [(0.8001, Verdict.FAIL), (0.8, Verdict.FAIL), (0.7999, Verdict.PASS)],
    ids=["just-over", "at", "just-under"],
)
def test_pool_saturation_threshold(peak: float, verdict: Verdict) -> None:
    m = row(judge(saturation_peak=peak), "db_pool_saturation")
    assert m.verdict is verdict
    assert m.statistic == Decimal(repr(peak))


def test_window_of_3h59m_fails_closed() -> None:
    result = judge(minutes=239)
    assert result.verdict is Verdict.FAIL
    assert row(result, "observation-window").reason is Reason.SHORT_WINDOW
    assert "3h59m" in result.reason


def test_regional_gate_has_its_own_12h_window() -> None:
    assert judge(GateKind.REGIONAL).verdict is Verdict.FAIL  # 4h10m of samples
    result = judge(GateKind.REGIONAL, minutes=12 * 60)
    assert result.verdict is Verdict.PASS, result.reason
    assert result.gate is GateKind.REGIONAL


def test_counter_reset_mid_window_counts_exactly() -> None:
    reset = judge(reset_at=125, errors_at={100: 10, 200: 20})
    plain = judge(errors_at={100: 10, 200: 20})
    assert row(reset, "http_5xx").detail == row(plain, "http_5xx").detail
    assert f"30/{TOTAL}" in row(reset, "http_5xx").detail


def test_counter_increase_with_resets() -> None:
    values = [5, 9, 2, 4, 0, 3]  # resets after 9 and after 4
    series = Series(
        "c_total", (), "counter", tuple(Sample(D(i), D(v)) for i, v in enumerate(values))
    )
    assert counter_increase(series) == 4 + 2 + 2 + 0 + 3


def test_missing_series_fails_closed() -> None:
    result = judge(skip=("session_crashes",))
    m = row(result, "session_crashes")
    assert result.verdict is Verdict.FAIL
    assert m.reason is Reason.MISSING_SERIES and "session_crashes_total" in m.detail


def test_gap_fails_closed() -> None:
    result = judge(drop=("sessions_started", 100, 110))
    m = row(result, "session_crashes")
    assert result.verdict is Verdict.FAIL and m.reason is Reason.GAP
    assert "11m00s" in m.detail


def test_too_few_samples_fails_closed() -> None:
    policy = default_policy()
    policy = replace(
        policy, canary=replace(policy.canary, min_samples=1000, max_gap_seconds=D(10**6))
    )
    assert row(judge(policy=policy), "http_5xx").reason is Reason.TOO_FEW_SAMPLES


def test_duplicate_series_is_malformed() -> None:
    lines = GEN.canary().splitlines()
    dup = next(i for i, ln in enumerate(lines) if ln.startswith("sessions_started_total"))
    lines.insert(dup, lines[dup])
    with pytest.raises(InvalidMetrics) as info:
        run_canary([("m.om", ("\n".join(lines) + "\n").encode())], default_policy())
    assert info.value.kind == "duplicate-series"


def test_duplicate_series_across_files_is_malformed() -> None:
    text = GEN.canary().encode()
    with pytest.raises(InvalidMetrics) as info:
        run_canary([("a.om", text), ("b.om", text)], default_policy())
    assert info.value.kind == "duplicate-series"


def test_no_traffic_is_inconclusive_with_volume_needed() -> None:
    m = row(judge(rps=0), "http_5xx")
    assert m.verdict is Verdict.INCONCLUSIVE and m.reason is Reason.NEEDS_VOLUME
    assert m.needed is not None and 2990 <= m.needed <= 3000


def test_untimed_samples_are_refused_for_canary() -> None:
    from nebsign.gate.readers import read_metrics

    raw = b"http_requests_total 5\n"
    assert read_metrics(raw, "m").series[0].samples[0].timestamp is None
    with pytest.raises(InvalidMetrics):
        run_canary([("m.prom", raw)], default_policy())


def test_gauge_given_as_counter_is_invalid() -> None:
    from nebsign.gate.canary import judge_canary
    from nebsign.gate.readers import read_metrics
    from nebsign.gate.series import MetricSet

    data = read_metrics(GEN.canary().encode(), "m.om")
    series = tuple(
        replace(s, kind="gauge") if s.name == "sessions_started_total" else s for s in data.series
    )
    result = judge_canary(MetricSet(series), default_policy().canary)
    assert row(result, "session_crashes").reason is Reason.INVALID_VALUES


_KEYS = [
    "http_requests",
    "sessions_started",
    "session_crashes",
    "trade_executions_failed",
    "db_pool_saturation_ratio",
]


@settings(max_examples=25, deadline=None)
@given(key=st.sampled_from(_KEYS), start=st.integers(0, 245), length=st.integers(6, 260))
def test_any_missing_stretch_of_data_never_passes(key: str, start: int, length: int) -> None:
    """Unlike Kayenta, Argo Rollouts and Flagger: missing data never passes a release.

    Six or more samples missing (one a minute) is a gap over max_gap_seconds (300).
    """
    result = judge(drop=(key, start, start + length))
    assert result.verdict is not Verdict.PASS, result.reason
