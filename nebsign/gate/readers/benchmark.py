"""pytest-benchmark JSON (``--benchmark-json``): one file is one run.

Each benchmark becomes one series named by its ``fullname`` whose one sample
is the run's median time in seconds (lower is better): rounds inside a run are
samples, not runs, so a file contributes exactly one value per benchmark.
"""

from __future__ import annotations

from nebsign._internal.canonical import parse_json_object
from nebsign.gate.model import InvalidMetrics
from nebsign.gate.readers import MAX_METRICS_BYTES, MetricReader
from nebsign.gate.series import MetricSet, Sample, build, exact

__all__ = ["BenchmarkReader"]


class BenchmarkReader(MetricReader):
    name = "pytest-benchmark"

    def read(self, raw: bytes, what: str) -> MetricSet:
        obj = parse_json_object(raw, what, limit=MAX_METRICS_BYTES, error=InvalidMetrics)
        benches = obj.get("benchmarks")
        if not isinstance(benches, list) or not benches:
            raise InvalidMetrics(f"{what}: 'benchmarks' must be a non-empty list")
        collected: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, list[Sample]]] = {}
        for i, bench in enumerate(benches):
            where = f"{what}: benchmarks[{i}]"
            if not isinstance(bench, dict):
                raise InvalidMetrics(f"{where}: not an object")
            name = bench.get("fullname", bench.get("name"))
            stats = bench.get("stats")
            if not isinstance(name, str) or not name or len(name) > 1000 or not name.isprintable():
                raise InvalidMetrics(f"{where}: needs a 'fullname' or 'name' string")
            if not isinstance(stats, dict) or "median" not in stats:
                raise InvalidMetrics(f"{where}: needs 'stats' with a 'median'")
            median = exact(stats["median"], f"{where} stats.median")
            if median <= 0:
                raise InvalidMetrics(f"{where}: stats.median must be positive")
            if (name, ()) in collected:
                raise InvalidMetrics(
                    f"{what}: duplicate benchmark {name!r}", kind="duplicate-series"
                )
            collected[(name, ())] = ("gauge", [Sample(None, median)])
        return build(collected, what)
