#!/usr/bin/env python3
"""Gate benchmarks (issue 14). Run by hand, not in CI:

    .venv/bin/python bench/bench_gate.py

* read: nebsign's OpenMetrics reader (prometheus_client's parser + the duplicate,
  unit and exact-decimal checks) on a 12 h regional window at one sample per
  15 s, against prometheus_client's parser alone on the same bytes.
* staging: one KPI's decision with 200 runs a side (40,000 exact decimal ratios,
  the exact or normal Mann-Whitney rank) against scipy.stats.mannwhitneyu on the
  same runs (which gives a p-value, not an interval).
* canary: the whole canary verdict (parse + judge, 5 metrics) on that file.

Medians of interleaved runs, ratios measured in the same run.
"""

from __future__ import annotations

import importlib.util
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nebsign.gate.model import GateKind  # noqa: E402
from nebsign.gate.policy import Direction, StagingMetric, StagingPolicy, parse_gates_policy  # noqa: E402
from nebsign.gate.readers import read_metrics  # noqa: E402
from nebsign.gate.run import run_canary  # noqa: E402
from nebsign.gate.staging import judge_metric  # noqa: E402

ROUNDS = 5


def _gen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen", REPO / "examples/metrics/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    from scipy.stats import mannwhitneyu

    # 48 h at one sample a minute: as many samples as 12 h at one per 15 s
    text = _gen().canary(minutes=12 * 60 * 4, rps=10)
    raw = text.encode()
    samples = sum(1 for ln in text.splitlines() if ln and not ln.startswith("#"))
    ours, peer = [], []
    for _ in range(ROUNDS):
        ours.append(_time(lambda: read_metrics(raw, "bench.om")))
        peer.append(_time(lambda: [f.samples for f in text_string_to_metric_families(text)]))
    o, p = statistics.median(ours), statistics.median(peer)
    print(
        f"read {samples} samples ({len(raw) / 1e6:.1f} MB): nebsign {o:.3f} s, "
        f"prometheus_client alone {p:.3f} s, ratio {o / p:.2f}x"
    )

    policy = parse_gates_policy((REPO / "policies/default.toml").read_bytes())
    regional = []
    for _ in range(ROUNDS):
        regional.append(_time(lambda: run_canary([("b.om", raw)], policy, GateKind.REGIONAL)))
    print(f"regional verdict (parse + judge) on it: {statistics.median(regional):.3f} s")

    rng = random.Random(1)
    base = [Decimal(repr(round(100 * (1 + rng.gauss(0, 0.02)), 6))) for _ in range(200)]
    cur = [Decimal(repr(round(103 * (1 + rng.gauss(0, 0.02)), 6))) for _ in range(200)]
    spec = StagingMetric("kpi", Direction.LOWER_IS_BETTER, Decimal("0.05"))
    fb, fc = [float(b) for b in base], [float(c) for c in cur]
    ours, peer = [], []
    for _ in range(ROUNDS):
        ours.append(_time(lambda: judge_metric(spec, base, cur, StagingPolicy())))
        peer.append(_time(lambda: mannwhitneyu(fb, fc)))
    o, p = statistics.median(ours), statistics.median(peer)
    print(
        f"staging, 200 runs a side: nebsign {o * 1000:.1f} ms, "
        f"scipy mannwhitneyu {p * 1000:.1f} ms, ratio {o / p:.1f}x"
    )


if __name__ == "__main__":
    main()
