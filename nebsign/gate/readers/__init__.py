"""Metric readers: one module per format behind :class:`MetricReader`, found by name.

Adding a format is adding a module and one line in :data:`READERS`. Every
reader turns untrusted bytes (at most :data:`MAX_METRICS_BYTES`) into a
validated :class:`~nebsign.gate.series.MetricSet` or raises
:class:`~nebsign.gate.model.InvalidMetrics` (exit 2).
"""

from __future__ import annotations

import importlib
from typing import ClassVar

from nebsign.gate.model import InvalidMetrics
from nebsign.gate.series import MetricSet

__all__ = ["FORMATS", "MAX_METRICS_BYTES", "READERS", "MetricReader", "detect", "read_metrics"]

MAX_METRICS_BYTES = 64 * 1024 * 1024

#: format name -> "module:class", imported on use (prometheus_client only when needed)
READERS: dict[str, str] = {
    "json": "nebsign.gate.readers.jsonfmt:JsonReader",
    "prometheus": "nebsign.gate.readers.prometheus:PrometheusReader",
    "openmetrics": "nebsign.gate.readers.prometheus:OpenMetricsReader",
    "pytest-benchmark": "nebsign.gate.readers.benchmark:BenchmarkReader",
}
FORMATS = ("auto", *READERS)


class MetricReader:
    """Bytes of one format in, a validated metric set out (no I/O)."""

    name: ClassVar[str]

    def read(self, raw: bytes, what: str) -> MetricSet:
        raise NotImplementedError


def detect(raw: bytes) -> str:
    """The format of *raw* by its content: JSON (nebsign or pytest-benchmark) or text."""
    head = raw.lstrip()[:1]
    if head in (b"{", b"["):
        return "pytest-benchmark" if b'"benchmarks"' in raw and b'"machine_info"' in raw else "json"
    tail = raw.rstrip()
    return "openmetrics" if tail.endswith(b"# EOF") else "prometheus"


def reader(name: str) -> MetricReader:
    target = READERS.get(name)
    if target is None:
        raise InvalidMetrics(f"unknown metrics format {name!r}; known: {', '.join(READERS)}")
    module, attr = target.split(":")
    cls = getattr(importlib.import_module(module), attr)
    instance = cls()
    assert isinstance(instance, MetricReader)
    return instance


def read_metrics(raw: bytes, what: str, fmt: str = "auto") -> MetricSet:
    """Parse *raw* in format *fmt* (``auto``: :func:`detect`)."""
    if len(raw) > MAX_METRICS_BYTES:
        raise InvalidMetrics(
            f"{what}: {len(raw)} bytes exceeds the limit of {MAX_METRICS_BYTES} bytes",
            kind="too-large",
        )
    name = detect(raw) if fmt == "auto" else fmt
    return reader(name).read(raw, f"{what} ({name})")
