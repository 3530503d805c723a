"""Verified statements -> the report's sections, by the shared predicate convention.

Every nebsign verdict predicate (SAST_V1, DAST_V1, AUDIT_V1, GATE_V1) has
``verdict``, ``reason``, ``policy_digest``, ``tools``, ``counts`` and, with
findings, ``findings`` (``Finding.to_dict()``) and ``findings_digest``; each
type adds its own keys. Those are read here *generically*: a key a predicate
lacks is ``None`` in the report, a value of the wrong shape is refused (exit 2).
Nothing here does I/O; statements come verified from :mod:`.evidence`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nebsign._internal import fields
from nebsign.attest import AUDIT_V1, DAST_V1, GATE_V1, SAST_V1, SLSA_PROVENANCE_V1
from nebsign.errors import InputError

__all__ = ["KINDS", "audit_section", "gate_section", "kind_of", "scan_section", "verdict_of"]

KINDS: dict[str, str] = {
    SAST_V1: "sast",
    DAST_V1: "dast",
    AUDIT_V1: "audit",
    GATE_V1: "gate",
    SLSA_PROVENANCE_V1: "provenance",
}
_MAX_ITEMS = 100_000


def kind_of(predicate_type: str) -> str:
    """Short name of a predicate type ("other" when nebsign does not know it)."""
    return KINDS.get(predicate_type, "other")


def _plain(value: Any, where: str, depth: int = 0) -> Any:
    """A JSON value of scalars, lists and objects with string keys (bounded)."""
    if depth > 8:
        raise InputError(f"{where}: nested too deeply")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, list):
        if len(value) > _MAX_ITEMS:
            raise InputError(f"{where}: more than {_MAX_ITEMS} items")
        return [_plain(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, where, depth + 1) for k, v in value.items()}
    raise InputError(f"{where}: unexpected value")  # pragma: no cover - JSON has no other


def _field(pred: dict[str, Any], key: str, where: str, getter: Callable[..., Any]) -> Any:
    """``pred[key]`` checked by the kit's *getter* and copied bounded, or None if absent."""
    return _plain(fields.maybe(getter, pred.get(key), f"{where}: {key!r}"), where)


def verdict_of(pred: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    """(verdict, reason) of any predicate; either may be absent."""
    return _field(pred, "verdict", where, fields.string), _field(
        pred, "reason", where, fields.string
    )


def _common(pred: dict[str, Any], file: str) -> dict[str, Any]:
    verdict, reason = verdict_of(pred, file)
    tools = _field(pred, "tools", file, fields.obj) or {}
    return {
        "file": file,
        "verdict": verdict,
        "reason": reason,
        "policy_digest": _field(pred, "policy_digest", file, fields.string),
        "tools": {str(k): str(v) for k, v in sorted(tools.items())},
        "counts": _field(pred, "counts", file, fields.obj),
        "findings_digest": _field(pred, "findings_digest", file, fields.string),
    }


def scan_section(kind: str, pred: dict[str, Any], file: str) -> dict[str, Any]:
    """A SAST or DAST result: the common keys plus DAST's target/coverage/anomalies."""
    target = pred.get("target")
    if target is not None and not isinstance(target, str | list):
        raise InputError(f"{file}: 'target' must be a string or a list")
    return {
        "kind": kind,
        **_common(pred, file),
        "target": _plain(target, file),
        "coverage": _field(pred, "coverage", file, fields.obj),
        "anomalies": _field(pred, "anomalies", file, fields.arr),
    }


def audit_section(pred: dict[str, Any], file: str) -> dict[str, Any]:
    """A third-party audit: auditor, report, dates, commit, scope with hashes, coverage."""
    report = _field(pred, "report", file, fields.obj) or {}
    dates = _field(pred, "dates", file, fields.obj) or {}
    scope = []
    for i, item in enumerate(_field(pred, "scope", file, fields.arr) or []):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise InputError(f"{file}: scope[{i}] needs a path")
        scope.append(
            {
                "path": item["path"],
                "sha256": item.get("sha256") if isinstance(item.get("sha256"), str) else None,
                "sha1": item.get("sha1") if isinstance(item.get("sha1"), str) else None,
                "weak": item.get("weak") is True,
            }
        )
    return {
        **_common(pred, file),
        "auditor": _field(pred, "auditor", file, fields.string),
        "report": {
            "title": report.get("title") if isinstance(report.get("title"), str) else None,
            "url": report.get("url") if isinstance(report.get("url"), str) else None,
        },
        "dates": {
            "audit": dates.get("audit") if isinstance(dates.get("audit"), str) else None,
            "fix_review": (
                dates.get("fix_review") if isinstance(dates.get("fix_review"), str) else None
            ),
        },
        "repository": _field(pred, "repository", file, fields.string),
        "commit": _field(pred, "commit", file, fields.string),
        "scope": sorted(scope, key=lambda s: s["path"]),
        "coverage": _field(pred, "coverage", file, fields.obj),
    }


def gate_section(pred: dict[str, Any], file: str) -> dict[str, Any]:
    """A rollout gate: which gate, its window and each metric's verdict."""
    metrics = []
    for i, item in enumerate(_field(pred, "metrics", file, fields.arr) or []):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InputError(f"{file}: metrics[{i}] needs a name")
        interval = item.get("interval")
        metrics.append(
            {
                "name": item["name"],
                "verdict": str(item.get("verdict", "")),
                "statistic": _plain(item.get("statistic"), file),
                "tolerance_or_threshold": _plain(item.get("tolerance_or_threshold"), file),
                "interval": _plain(interval, file) if isinstance(interval, list) else None,
                "samples": _plain(item.get("samples"), file),
                "reason": str(item.get("reason", "")),
            }
        )
    return {
        **_common(pred, file),
        "gate": _field(pred, "gate", file, fields.string),
        "window": _field(pred, "window", file, fields.obj),
        "metrics": metrics,
        "metrics_digest": _field(pred, "metrics_digest", file, fields.string),
    }
