"""The [gates] policy table: defaults, exact numbers, and bad tables refused (exit 2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from gatekit import default_policy
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.errors import InputError
from nebsign.gate.policy import Direction, MetricKind, parse_gates_policy


def test_default_policy_is_the_protocol() -> None:
    p = default_policy()
    assert p.staging.tolerance == Decimal("0.05")
    assert p.staging.metric("throughput_orders_per_s").direction is Direction.HIGHER_IS_BETTER
    assert p.canary.window_hours == 4 and p.regional.window_hours == 12
    assert p.rollout_hours == 24
    limits = {m.name: (m.kind, m.limit) for m in p.canary.metrics}
    assert limits == {
        "http_5xx": (MetricKind.RATIO, Decimal("0.001")),
        "failed_trades": (MetricKind.COUNT, Decimal(0)),
        "session_crashes": (MetricKind.RATIO, Decimal("0.0005")),
        "db_pool_saturation": (MetricKind.GAUGE_MAX, Decimal("0.8")),
    }
    assert p.regional.metrics == p.canary.metrics


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[gates]\nunknown = 1\n",
        '[gates.staging]\ntolerance = "5 percent"\n',
        '[gates.staging]\ntolerance = "150%"\n',
        "[gates.staging]\nmin_runs = 1\n",
        '[gates.staging.metrics]\nx = { direction = "up" }\n',
        '[gates.canary.metrics.a]\nkind = "ratio"\nbelow = "1%"\n',
        '[gates.canary.metrics.a]\nkind = "median"\n',
        "[gates.canary]\nwindow_hours = -4\n",
        '[gates.canary.metrics.a]\nkind = "count"\ncounter = { name = "x" }\nmax = -1\n',
    ],
)
def test_bad_tables_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_gates_policy(text.encode())


_value = st.one_of(
    st.integers(-3, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(
    table=st.sampled_from(["staging", "canary", "regional", "rollout"]),
    key=st.sampled_from(
        ["tolerance", "confidence", "min_runs", "window_hours", "max_gap_seconds", "max_hours"]
    ),
    value=_value,
)
def test_any_value_parses_or_is_an_input_error(table: str, key: str, value: object) -> None:
    import json

    rendered = json.dumps(value) if not isinstance(value, float) else repr(value)
    rendered = {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(rendered, rendered)
    try:
        policy = parse_gates_policy(f"[gates.{table}]\n{key} = {rendered}\n".encode())
    except InputError:
        return
    assert Decimal(0) < policy.staging.tolerance < 1
