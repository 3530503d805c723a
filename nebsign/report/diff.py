"""Change since the previous report: new, fixed, still open, accepted (no I/O).

Findings are matched by ``id`` (the finding's fingerprint). A finding open
now is *new* unless it was open in the previous report (*still open*); an
accepted one (acknowledged, accepted risk, false positive) is *accepted*;
one fixed now that was not fixed before is *fixed*, and so is a finding of
the previous report that is no longer reported at all.
"""

from __future__ import annotations

from typing import Any

__all__ = ["apply_changes", "trend_point"]

_KEEP = ("id", "source", "tool", "rule_id", "severity", "title", "location")


def trend_point(doc: dict[str, Any]) -> dict[str, Any]:
    """This report's point of the trend chart: open/accepted/fixed counts by release."""
    summary = doc["summary"]
    by = summary["by_severity"]
    return {
        "version": doc["release"]["version"] or "",
        "open": summary["open"],
        "accepted": summary["accepted"],
        "fixed": summary["fixed"],
        "open_critical_high": by["critical"]["open"] + by["high"]["open"],
    }


def apply_changes(doc: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Set each finding's ``change`` and the document's ``changes`` from *previous*."""
    if previous is None:
        return
    before = {f["id"]: f["group"] for f in previous["findings"]}
    now_ids = set()
    counts = {"new": 0, "fixed": 0, "still-open": 0, "accepted": 0}
    for f in doc["findings"]:
        now_ids.add(f["id"])
        was = before.get(f["id"])
        change: str | None
        if f["group"] == "open":
            change = "still-open" if was == "open" else "new"
        elif f["group"] == "accepted":
            change = "accepted"
        else:
            change = "fixed" if was != "fixed" else None
        f["change"] = change
        if change is not None:
            counts[change] += 1
    gone = [
        {k: f[k] for k in _KEEP}
        for f in previous["findings"]
        if f["id"] not in now_ids and f["group"] != "fixed"
    ]
    counts["fixed"] += len(gone)
    rel = previous["release"]
    doc["changes"] = {
        "previous": {
            "name": rel["name"],
            "version": rel["version"],
            "manifest_sha256": rel["manifest_sha256"],
        },
        "counts": counts,
        "gone": sorted(gone, key=lambda f: (f["source"], f["location"], f["id"])),
    }
