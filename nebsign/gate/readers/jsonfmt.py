"""nebsign's own metrics JSON.

::

    {"schema": "https://nebsign.dev/metrics/v1",
     "series": [
       {"name": "api_latency_p99_ms", "type": "gauge", "labels": {"route": "/order"},
        "samples": [12.1, 12.4, 11.9]},                 # staging: one value per run
       {"name": "http_requests_total", "type": "counter",
        "samples": [[1767225600, 0], [1767225660, 1200]]} # canary: [epoch seconds, value]
     ]}
"""

from __future__ import annotations

from typing import Any

from nebsign._internal.canonical import parse_json_object
from nebsign.gate.model import InvalidMetrics
from nebsign.gate.readers import MAX_METRICS_BYTES, MetricReader
from nebsign.gate.series import MetricSet, Sample, Series, build, exact

__all__ = ["SCHEMA", "JsonReader"]

SCHEMA = "https://nebsign.dev/metrics/v1"
KINDS = ("counter", "gauge", "unknown")
_MAX_NAME = 200


def _labels(value: Any, what: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise InvalidMetrics(f"{what}: labels must be an object of strings")
    for k, v in value.items():
        if not isinstance(v, str) or not k or len(k) > _MAX_NAME or len(v) > 4096:
            raise InvalidMetrics(f"{what}: labels must be an object of strings")
    return tuple(sorted(value.items()))


def _sample(item: Any, what: str) -> Sample:
    if isinstance(item, list):
        if len(item) != 2:
            raise InvalidMetrics(f"{what}: a timed sample is [epoch_seconds, value]")
        return Sample(exact(item[0], f"{what} timestamp"), exact(item[1], f"{what} value"))
    return Sample(None, exact(item, f"{what} value"))


class JsonReader(MetricReader):
    name = "json"

    def read(self, raw: bytes, what: str) -> MetricSet:
        obj = parse_json_object(raw, what, limit=MAX_METRICS_BYTES, error=InvalidMetrics)
        if obj.get("schema") != SCHEMA:
            raise InvalidMetrics(f"{what}: 'schema' must be {SCHEMA}")
        unknown = set(obj) - {"schema", "series"}
        if unknown:
            raise InvalidMetrics(f"{what}: unknown key {sorted(unknown)[0]!r}")
        items = obj.get("series")
        if not isinstance(items, list):
            raise InvalidMetrics(f"{what}: 'series' must be a list")
        collected: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, list[Sample]]] = {}
        for i, item in enumerate(items):
            where = f"{what}: series[{i}]"
            if not isinstance(item, dict) or not set(item) <= {"name", "type", "labels", "samples"}:
                raise InvalidMetrics(f"{where}: needs name, samples (type, labels optional)")
            name, kind = item.get("name"), item.get("type", "unknown")
            if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
                raise InvalidMetrics(f"{where}: 'name' must be a non-empty string")
            if not name.isprintable():
                raise InvalidMetrics(f"{where}: 'name' has non-printable characters")
            if kind not in KINDS:
                raise InvalidMetrics(f"{where}: 'type' must be one of {', '.join(KINDS)}")
            labels = _labels(item.get("labels", {}), where)
            samples = item.get("samples")
            if not isinstance(samples, list) or not samples:
                raise InvalidMetrics(f"{where}: 'samples' must be a non-empty list")
            if (name, labels) in collected:
                shown = Series(name, labels, kind, ()).shown()
                raise InvalidMetrics(f"{what}: duplicate series {shown}", kind="duplicate-series")
            collected[(name, labels)] = (kind, [_sample(s, where) for s in samples])
        return build(collected, what, runs=True)
