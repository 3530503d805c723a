"""Geometry of the report's inline SVG charts (numbers in, shapes out; no I/O).

The template draws these shapes as ``<rect>``/``<text>`` in inline SVG: no
JavaScript, no external resources, colours from the page's stylesheet.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GROUPS", "SEVERITIES", "severity_chart", "trend_chart"]

SEVERITIES = ("critical", "high", "medium", "low", "info")
GROUPS = ("open", "accepted", "fixed")
_WIDTH = 640
_LABEL = 90
_ROW = 30
_BAR = 20


def severity_chart(summary: dict[str, Any]) -> dict[str, Any]:
    """Horizontal stacked bars: one row per severity, segments open/accepted/fixed."""
    table = summary["by_severity"]
    most = max((sum(table[s][g] for g in GROUPS) for s in SEVERITIES), default=0) or 1
    span = _WIDTH - _LABEL - 60
    rows = []
    for i, sev in enumerate(SEVERITIES):
        y = 10 + i * _ROW
        x: float = _LABEL
        segments = []
        for group in GROUPS:
            n = int(table[sev][group])
            w = round(span * n / most, 1)
            if n:
                segments.append({"x": x, "w": max(w, 2.0), "group": group, "n": n})
            x = round(x + (max(w, 2.0) if n else 0), 1)
        total = sum(int(table[sev][g]) for g in GROUPS)
        rows.append({"y": y, "label": sev, "segments": segments, "total": total, "end": x + 6})
    return {
        "width": _WIDTH,
        "height": 10 + len(SEVERITIES) * _ROW + 24,
        "rows": rows,
        "bar": _BAR,
        "legend_y": 10 + len(SEVERITIES) * _ROW + 12,
    }


def trend_chart(trend: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Grouped columns per release (open and fixed findings); None for a single release."""
    if len(trend) < 2:
        return None
    height, base = 180, 150
    most = max((max(int(p["open"]), int(p["fixed"])) for p in trend), default=0) or 1
    step = min(120, (_WIDTH - 40) // len(trend))
    cols = []
    for i, point in enumerate(trend):
        x = 30 + i * step
        bars = []
        for j, key in enumerate(("open", "fixed")):
            n = int(point[key])
            h = round(120 * n / most, 1)
            bars.append({"x": x + j * 22, "y": round(base - h, 1), "h": h, "group": key, "n": n})
        cols.append({"x": x, "label": str(point["version"])[:16], "bars": bars})
    return {"width": _WIDTH, "height": height, "base": base, "cols": cols}
