"""A gate result as the GATE_V1 predicate, as a statement, and as terminal text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nebsign import __version__
from nebsign._internal.canonical import canonical_json
from nebsign.attest import GATE_V1, Statement, Subject
from nebsign.digest import sha256_bytes
from nebsign.gate.model import GateResult, MetricResult, Window

__all__ = [
    "format_explain",
    "format_text",
    "metrics_digest",
    "predicate",
    "rfc3339",
    "statement",
]


def rfc3339(epoch: Decimal | int) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: Decimal) -> str:
    """At most 9 decimals (decisions were made on the exact values)."""
    if value == value.to_integral_value():
        return format(value.to_integral_value(), "f")
    return format(value.quantize(Decimal("1e-9")).normalize(), "f")


def metrics_digest(inputs: Sequence[tuple[str, bytes]]) -> tuple[str, list[dict[str, str]]]:
    """``sha256:`` of the metrics bytes (one file), or of the list of inputs (several)."""
    listed = [{"role": role, "sha256": sha256_bytes(raw)} for role, raw in inputs]
    if len(inputs) == 1:
        return f"sha256:{listed[0]['sha256']}", listed
    return f"sha256:{sha256_bytes(canonical_json(listed))}", listed


def _window(window: Window | None) -> dict[str, str] | None:
    if window is None:
        return None
    return {
        "start": rfc3339(window.start),
        "end": rfc3339(window.end),
        "hours": _num((window.seconds / 3600).quantize(Decimal("0.001"))),
    }


def _metric(m: MetricResult) -> dict[str, Any]:
    return {
        "name": m.name,
        "verdict": m.verdict.value,
        "reason": f"{m.reason.value}: {m.detail}",
        "reason_code": m.reason.value,
        "statistic": None if m.statistic is None else _num(m.statistic),
        "tolerance_or_threshold": m.threshold,
        "interval": None if m.interval is None else [_num(v) for v in m.interval],
        "samples": dict(m.samples),
        "needed": m.needed,
    }


def predicate(
    result: GateResult,
    *,
    policy_digest: str,
    inputs: Sequence[tuple[str, bytes]],
    tools: Mapping[str, str],
    decided_at: datetime,
) -> dict[str, Any]:
    """The GATE_V1 predicate (shared keys of every verdict predicate plus the gate's own)."""
    digest, listed = metrics_digest(inputs)
    return {
        "verdict": result.verdict.value,
        "reason": result.reason,
        "policy_digest": policy_digest,
        "tools": {"nebsign": __version__, **dict(tools)},
        "counts": result.counts(),
        "gate": result.gate.value,
        "window": _window(result.window),
        "metrics": [_metric(m) for m in result.metrics],
        "metrics_digest": digest,
        "inputs": listed,
        "decided_at": decided_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def statement(pred: dict[str, Any], subjects: Sequence[Subject]) -> Statement:
    return Statement(subjects=tuple(subjects), predicate_type=GATE_V1, predicate=pred)


def format_text(pred: Mapping[str, Any]) -> str:
    word = str(pred["verdict"]).upper()
    lines = [f"nebsign {pred['gate']} gate: {word} ({pred['reason']})"]
    window = pred.get("window")
    if window:
        lines.append(f"window: {window['start']} .. {window['end']} ({window['hours']} h)")
    return "\n".join(lines) + "\n"


def format_explain(pred: Mapping[str, Any]) -> str:
    """The per-metric decision table."""
    head = ("metric", "verdict", "statistic", "threshold", "interval", "samples", "reason")
    rows = [head]
    for m in pred["metrics"]:
        interval = "-" if m["interval"] is None else f"[{m['interval'][0]}, {m['interval'][1]}]"
        samples = ", ".join(f"{k}={v}" for k, v in m["samples"].items()) or "-"
        rows.append(
            (
                m["name"],
                m["verdict"].upper(),
                m["statistic"] or "-",
                m["tolerance_or_threshold"],
                interval,
                samples,
                m["reason"],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    out = [
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)) + "  " + r[-1]
        for r in rows
    ]
    counts = pred["counts"]
    out.append(
        f"coverage: {len(pred['metrics'])} metric(s): {counts['pass']} pass, "
        f"{counts['fail']} fail, {counts['inconclusive']} inconclusive"
    )
    return "\n".join(out) + "\n"
