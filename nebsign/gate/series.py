"""Metric samples as exact decimals: what every reader produces and every gate reads."""

from __future__ import annotations

import fnmatch
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from nebsign._internal.display import quoted as printable  # the one escaping helper
from nebsign.gate.model import InvalidMetrics

__all__ = [
    "MAX_SAMPLES",
    "MAX_SERIES",
    "MetricSet",
    "Sample",
    "Selector",
    "Series",
    "exact",
    "merge",
    "printable",
]

MAX_SERIES = 100_000
MAX_SAMPLES = 2_000_000
#: plausible epoch seconds after unit conversion: 2001-09-09 .. 2286-11-20
_TS_LO, _TS_HI = Decimal(10**9), Decimal(10**10)


def exact(value: object, what: str) -> Decimal:
    """A finite number as an exact Decimal (floats by their shortest repr, as written)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidMetrics(f"{what}: {value!r:.40} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidMetrics(f"{what}: {value!r} is not a finite number")
        return Decimal(repr(value))
    result = Decimal(value)
    if not result.is_finite():
        raise InvalidMetrics(f"{what}: {value!r} is not a finite number")
    return result


@dataclass(frozen=True, slots=True)
class Sample:
    timestamp: Decimal | None
    value: Decimal


@dataclass(frozen=True, slots=True)
class Series:
    """One time series: metric name, sorted labels, kind and its samples in time order."""

    name: str
    labels: tuple[tuple[str, str], ...]
    kind: str
    samples: tuple[Sample, ...]

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return (self.name, self.labels)

    def shown(self) -> str:
        inner = ",".join(f'{printable(k)}="{printable(v)}"' for k, v in self.labels)
        name = printable(self.name)
        return f"{name}{{{inner}}}" if inner else name


@dataclass(frozen=True, slots=True)
class Selector:
    """Series by metric name and label globs (``{code = "5*"}``)."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()

    def matches(self, series: Series) -> bool:
        if series.name != self.name:
            return False
        have = dict(series.labels)
        return all(k in have and fnmatch.fnmatchcase(have[k], g) for k, g in self.labels)

    def shown(self) -> str:
        inner = ",".join(f'{printable(k)}=~"{printable(g)}"' for k, g in self.labels)
        name = printable(self.name)
        return f"{name}{{{inner}}}" if inner else name


@dataclass(frozen=True, slots=True)
class MetricSet:
    series: tuple[Series, ...]

    def select(self, selector: Selector) -> list[Series]:
        return [s for s in self.series if selector.matches(s)]

    def names(self) -> list[str]:
        return sorted({s.name for s in self.series})


def _check_series(key: str, samples: list[Sample], runs: bool) -> tuple[Sample, ...]:
    stamped = [s for s in samples if s.timestamp is not None]
    if stamped and len(stamped) != len(samples):
        raise InvalidMetrics(
            f"series {key}: some samples have timestamps and some do not", kind="duplicate-series"
        )
    if not stamped and len(samples) > 1 and not runs:
        raise InvalidMetrics(
            f"duplicate series {key}: {len(samples)} samples without timestamps",
            kind="duplicate-series",
        )
    if not stamped:
        return tuple(samples)  # runs, in the order given
    ordered = sorted(samples, key=lambda s: s.timestamp or 0)
    for a, b in itertools.pairwise(ordered):
        if a.timestamp == b.timestamp:
            raise InvalidMetrics(
                f"duplicate series {key}: two samples at timestamp {a.timestamp}",
                kind="duplicate-series",
            )
    return tuple(ordered)


def _check_units(all_stamps: Iterable[Decimal], what: str) -> None:
    plausible = implausible = 0
    for ts in all_stamps:
        if _TS_LO <= ts < _TS_HI:
            plausible += 1
        else:
            implausible += 1
    if implausible and plausible:
        raise InvalidMetrics(
            f"{what}: mixed timestamp units ({implausible} timestamp(s) are not epoch times "
            "in the format's unit)",
            kind="mixed-timestamp-units",
        )
    if implausible:
        raise InvalidMetrics(
            f"{what}: timestamps are not epoch times in the format's unit",
            kind="mixed-timestamp-units",
            hint="Prometheus text uses milliseconds, OpenMetrics and nebsign JSON seconds",
        )


def build(
    raw: Mapping[tuple[str, tuple[tuple[str, str], ...]], tuple[str, list[Sample]]],
    what: str,
    *,
    runs: bool = False,
) -> MetricSet:
    """Validate collected samples per series key: duplicates, units, limits.

    *runs*: several untimed samples of one series are runs (nebsign JSON's
    list of values), not a series given twice.
    """
    if len(raw) > MAX_SERIES:
        raise InvalidMetrics(f"{what}: more than {MAX_SERIES} series", kind="too-large")
    total = sum(len(samples) for _, samples in raw.values())
    if total > MAX_SAMPLES:
        raise InvalidMetrics(f"{what}: more than {MAX_SAMPLES} samples", kind="too-large")
    _check_units(
        (s.timestamp for _, samples in raw.values() for s in samples if s.timestamp is not None),
        what,
    )
    out = []
    for (name, labels), (kind, samples) in sorted(raw.items()):
        series = Series(name, labels, kind, ())
        out.append(
            Series(name, labels, kind, _check_series(f"{what}: {series.shown()}", samples, runs))
        )
    return MetricSet(tuple(out))


def merge(sets: Iterable[MetricSet], what: str) -> MetricSet:
    """Merge time series from several files (samples of one series must not collide)."""
    raw: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, list[Sample]]] = {}
    for metric_set in sets:
        for s in metric_set.series:
            kind, samples = raw.setdefault(s.key, (s.kind, []))
            if kind != s.kind and "unknown" not in (kind, s.kind):
                raise InvalidMetrics(
                    f"{what}: {s.shown()} is a {kind} in one file, {s.kind} in another"
                )
            samples.extend(s.samples)
    return build(raw, what)
