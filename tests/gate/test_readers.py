"""Metric readers: each format parsed, the strict checks on top of the lax parsers,
and property tests (any bytes: a MetricSet or InvalidMetrics, nothing else)."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal

import pytest
from gatekit import EXAMPLES, SCHEMA, generator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign.gate.model import InvalidMetrics
from nebsign.gate.readers import detect, read_metrics
from nebsign.gate.run import runs_by_metric

T0 = 1_767_225_600


def test_json_runs_and_time_series() -> None:
    raw = json.dumps(
        {
            "schema": SCHEMA,
            "series": [
                {"name": "lat", "samples": [1.5, 1.25, 2]},
                {
                    "name": "req_total",
                    "type": "counter",
                    "labels": {"code": "200"},
                    "samples": [[T0, 0], [T0 + 60, 10]],
                },
            ],
        }
    ).encode()
    data = read_metrics(raw, "m.json")
    assert detect(raw) == "json"
    runs = runs_by_metric([data])
    assert runs["lat"] == [Decimal("1.5"), Decimal("1.25"), Decimal(2)]
    (req,) = [s for s in data.series if s.name == "req_total"]
    assert req.labels == (("code", "200"),) and req.kind == "counter"
    assert [s.timestamp for s in req.samples] == [T0, T0 + 60]


def test_prometheus_text_milliseconds() -> None:
    raw = (
        "# TYPE req_total counter\n"
        f'req_total{{code="200"}} 5 {T0}000\n'
        f'req_total{{code="200"}} 7 {T0}500\n'
        "pool_ratio 0.25\n"
    ).encode()
    assert detect(raw) == "prometheus"
    data = read_metrics(raw, "m.prom")
    (req,) = [s for s in data.series if s.name == "req_total"]
    assert [s.timestamp for s in req.samples] == [Decimal(T0), Decimal(T0) + Decimal("0.5")]
    assert [s.value for s in req.samples] == [5, 7]


def test_openmetrics_seconds() -> None:
    raw = (EXAMPLES / "canary-pass.om").read_bytes()
    assert detect(raw) == "openmetrics"
    data = read_metrics(raw, "canary-pass.om")
    assert "http_requests_total" in data.names()
    assert all(s.timestamp is not None for ser in data.series for s in ser.samples)


def test_pytest_benchmark_one_run_per_file() -> None:
    raw = json.dumps(
        {
            "machine_info": {"node": "ci"},
            "benchmarks": [
                {
                    "name": "test_hash",
                    "fullname": "bench/test.py::test_hash",
                    "stats": {"median": 0.00125, "mean": 0.0013, "rounds": 40},
                },
            ],
        }
    ).encode()
    assert detect(raw) == "pytest-benchmark"
    runs = runs_by_metric([read_metrics(raw, "b.json")])
    assert runs == {"bench/test.py::test_hash": [Decimal("0.00125")]}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"a 1 {T0}000\na 2 {T0 + 60}\n", "mixed-timestamp-units"),  # ms then seconds
        (f"a 1 {T0}\na 2 {T0 + 60}\n", "mixed-timestamp-units"),  # seconds in a ms format
        ("a 1\na 2\n", "duplicate-series"),
        ('a{x="1"} 1\na{x="1"} 2\n', "duplicate-series"),
        (f"a 1 {T0}000\na 2 {T0}000\n", "duplicate-series"),
        ("a NaN\n", "malformed"),
        ("a{ 1\n", "malformed"),
        ("\xff", "malformed"),
    ],
    ids=["mixed", "seconds-as-ms", "dup", "dup-labels", "dup-ts", "nan", "syntax", "utf8"],
)
def test_prometheus_strict_checks(text: str, kind: str) -> None:
    raw = text.encode("latin-1")
    with pytest.raises(InvalidMetrics) as info:
        read_metrics(raw, "m.prom", "prometheus")
    assert info.value.kind == kind


def test_openmetrics_mixed_units() -> None:
    raw = f"# TYPE a gauge\na 1 {T0}\na 2 {T0 + 60}000\n# EOF\n".encode()
    with pytest.raises(InvalidMetrics) as info:
        read_metrics(raw, "m.om")
    assert info.value.kind == "mixed-timestamp-units"


@pytest.mark.parametrize(
    "obj",
    [
        {"series": []},
        {"schema": SCHEMA, "series": [{"name": "a", "samples": []}]},
        {"schema": SCHEMA, "series": [{"name": "a", "samples": ["1"]}]},
        {"schema": SCHEMA, "series": [{"name": "a", "samples": [True]}]},
        {"schema": SCHEMA, "series": [{"name": "a", "samples": [[1, 2, 3]]}]},
        {
            "schema": SCHEMA,
            "series": [{"name": "a", "samples": [1]}, {"name": "a", "samples": [2]}],
        },
        {"schema": SCHEMA, "series": [{"name": "a", "type": "histogram", "samples": [1]}]},
        {"schema": SCHEMA, "series": [], "extra": 1},
    ],
)
def test_json_malformed(obj: object) -> None:
    with pytest.raises(InvalidMetrics):
        read_metrics(json.dumps(obj).encode(), "m.json", "json")


def test_size_limit() -> None:
    from nebsign.gate.readers import MAX_METRICS_BYTES

    with pytest.raises(InvalidMetrics) as info:
        read_metrics(b" " * (MAX_METRICS_BYTES + 1), "big")
    assert info.value.kind == "too-large"


def test_generated_examples_are_current() -> None:
    """The bundled samples are exactly what the seeded generator writes."""
    gen = generator()
    assert (EXAMPLES / "canary-pass.om").read_text() == gen.canary()
    assert (EXAMPLES / "staging-baseline.json").read_text() == gen.staging(1, {})


_FORMATS = ["auto", "json", "prometheus", "openmetrics", "pytest-benchmark"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=400), fmt=st.sampled_from(_FORMATS))
def test_any_bytes_parse_or_invalid(raw: bytes, fmt: str) -> None:
    with contextlib.suppress(InvalidMetrics):
        read_metrics(raw, "fuzz", fmt)


_line = st.builds(
    lambda name, labels, value, ts: f"{name}{labels} {value}{ts}",
    st.sampled_from(["a", "b_total", "c"]),
    st.sampled_from(["", '{x="1"}', '{x="2",y="z"}', "{", '{x="\\"}']),
    st.one_of(st.integers(-5, 10**6).map(str), st.sampled_from(["NaN", "+Inf", "1e3", "x"])),
    st.one_of(
        st.just(""),
        st.integers(T0 - 5, T0 + 10**5).map(lambda t: f" {t}"),
        st.integers(T0 * 1000, T0 * 1000 + 10**5).map(lambda t: f" {t}"),
    ),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_line, max_size=12), om=st.booleans())
def test_exposition_like_text_parses_or_invalid(lines: list[str], om: bool) -> None:
    text = "\n".join(lines) + ("\n# EOF\n" if om else "\n")
    try:
        data = read_metrics(text.encode(), "fuzz")
    except InvalidMetrics:
        return
    for series in data.series:  # what parses is strictly valid: no duplicate timestamps
        stamps = [s.timestamp for s in series.samples]
        assert len(set(stamps)) == len(stamps)
        assert all(s.value.is_finite() for s in series.samples)
