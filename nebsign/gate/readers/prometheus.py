"""Prometheus text exposition and OpenMetrics, on top of ``prometheus_client``'s parsers.

The upstream parsers are lax; on top of them nebsign refuses what would make a
gate judge the wrong numbers: a series given twice (same name and labels, same
or no timestamp), timestamps mixing units (Prometheus text is milliseconds,
OpenMetrics seconds: a seconds value in a Prometheus file is not 1970),
NaN/Inf values, and invalid UTF-8. Several samples of one series with
increasing timestamps are a time series (the form ``promtool`` backfills).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from nebsign.gate.model import InvalidMetrics
from nebsign.gate.readers import MetricReader
from nebsign.gate.series import MetricSet, Sample, build, exact, printable

__all__ = ["OpenMetricsReader", "PrometheusReader"]

_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def _kind(family_type: str, sample_name: str) -> str:
    if family_type == "counter" or (
        family_type in ("histogram", "summary", "gaugehistogram")
        and sample_name.endswith(_COUNTER_SUFFIXES)
    ):
        return "counter"
    if family_type in ("gauge", "summary"):
        return "gauge"
    return "unknown"


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMetrics(f"{what}: not UTF-8 (at byte {exc.start})") from exc


def _collect(families: Iterable[Any], what: str, stamp: Any) -> MetricSet:
    collected: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, list[Sample]]] = {}
    names: dict[str, str] = {}
    try:
        for family in families:
            for s in family.samples:
                if s.name.endswith("_created"):
                    continue  # OpenMetrics creation times are not values
                labels = tuple(sorted(s.labels.items()))
                where = names.get(s.name) or names.setdefault(
                    s.name, f"{what}: {printable(s.name)}"
                )
                ts = None if s.timestamp is None else stamp(s.timestamp)
                sample = Sample(ts, exact(s.value, where))
                _kind_seen, samples = collected.setdefault(
                    (s.name, labels), (_kind(family.type, s.name), [])
                )
                samples.append(sample)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        if isinstance(exc, InvalidMetrics):
            raise
        raise InvalidMetrics(f"{what}: {printable(' '.join(str(exc).split())[:200])}") from exc
    return build(collected, what)


def _no_duplicate_lines(text: str, what: str) -> None:
    """Refuse a series sample given twice: the OpenMetrics parser silently drops one."""
    seen: set[tuple[str, str | None]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split(" # ", 1)[0].strip()  # exemplars
        if not line or line.startswith("#"):
            continue
        if "}" in line:
            cut = line.rindex("}") + 1
            series, rest = line[:cut], line[cut:].split()
        else:
            series, *rest = line.split()
        key = (series, rest[1] if len(rest) > 1 else None)
        if key in seen:
            raise InvalidMetrics(
                f"{what}: duplicate series {printable(series[:200])} at line {number}"
                + (f" (timestamp {key[1]})" if key[1] else ""),
                kind="duplicate-series",
            )
        seen.add(key)


def _ms(ts: float) -> Decimal:
    # prometheus_client divides the integer milliseconds by 1000; undo it exactly
    return Decimal(round(ts * 1000)) / 1000


def _om(ts: Any) -> Decimal:
    return Decimal(int(ts.sec)) + Decimal(int(ts.nsec)).scaleb(-9)


class PrometheusReader(MetricReader):
    name = "prometheus"

    def read(self, raw: bytes, what: str) -> MetricSet:
        from prometheus_client.parser import text_string_to_metric_families

        text = _text(raw, what)
        _no_duplicate_lines(text, what)
        return _collect(text_string_to_metric_families(text), what, _ms)


class OpenMetricsReader(MetricReader):
    name = "openmetrics"

    def read(self, raw: bytes, what: str) -> MetricSet:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families

        text = _text(raw, what)
        _no_duplicate_lines(text, what)
        families = text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
        return _collect(families, what, _om)
