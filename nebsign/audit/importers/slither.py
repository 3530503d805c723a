"""Slither's JSON output (``slither . --json out.json``).

Known traps, handled here: Slither's own ``id`` changes with unrelated edits,
so the fingerprint is computed from the check, the contract, the function and
the normalized source of the elements instead; ``filename_absolute`` holds the
auditor's local paths, so it is dropped and every text is scrubbed of it;
Slither exits 255 when it finds something (the caller, not this parser,
deals with exit codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebsign._internal.canonical import parse_json_object
from nebsign._internal.safepath import check_relpath
from nebsign.audit._fields import InvalidAuditInput, arr, obj, opt_str, req_str
from nebsign.audit.interface import MAX_AUDIT_BYTES, Importer
from nebsign.audit.mapping import map_confidence
from nebsign.audit.model import Audit, scrub_local_paths
from nebsign.errors import InputError
from nebsign.findings import (
    Finding,
    Location,
    Severity,
    Source,
    assign_fingerprints,
    normalize_snippet,
)

__all__ = ["IMPACT", "SlitherImporter", "findings_from_slither"]

#: Slither's impact -> nebsign severity (the label is kept as original_severity)
IMPACT: dict[str, Severity] = {
    "High": Severity.HIGH,
    "Medium": Severity.MEDIUM,
    "Low": Severity.LOW,
    "Informational": Severity.INFO,
    "Optimization": Severity.INFO,
}
MAX_DETECTORS = 1_000_000
MAX_ELEMENTS = 10_000


class SlitherImporter(Importer):
    name = "slither"

    def sniff(self, raw: bytes, filename: str) -> bool:
        head = raw[:4096]
        return head.lstrip()[:1] == b"{" and b'"results"' in raw and b'"detectors"' in raw

    def parse(self, raw: bytes, what: str) -> Audit:
        doc = parse_json_object(
            raw, what, limit=MAX_AUDIT_BYTES, check_duplicates=False, error=InvalidAuditInput
        )
        return Audit(kind="slither", auditor="Slither", findings=findings_from_slither(doc, what))


def findings_from_slither(doc: Mapping[str, Any], what: str) -> tuple[Finding, ...]:
    """Findings from a parsed Slither JSON document (fingerprinted, sorted)."""
    if doc.get("success") is False:
        error = opt_str(doc, "error", what, limit=2000) or "no error message"
        raise InvalidAuditInput(f"{what}: Slither did not succeed: {scrub_local_paths(error)}")
    results = obj(doc.get("results", {}), f"{what}.results")
    detectors = arr(results.get("detectors", []), f"{what}.results.detectors", limit=MAX_DETECTORS)
    found = [
        _finding(obj(det, f"{what}.results.detectors[{i}]"), f"{what}.results.detectors[{i}]")
        for i, det in enumerate(detectors)
    ]
    return tuple(assign_fingerprints(found))


def _relpath(mapping: dict[str, Any], where: str) -> tuple[str, dict[str, str]]:
    """The element's relative path, and {absolute: relative} to scrub texts with."""
    known: dict[str, str] = {}
    rel = None
    for key in ("filename_relative", "filename_short"):
        value = opt_str(mapping, key, where, limit=4096)
        if value:
            try:
                rel = check_relpath(value, f"{where}.{key}")
                break
            except InputError:
                continue
    if rel is None:
        raise InvalidAuditInput(
            f"{where}.filename_relative: needs a relative path inside the project"
        )
    absolute = mapping.get("filename_absolute")
    if isinstance(absolute, str) and absolute:
        known[absolute] = rel
    return rel, known


def _finding(det: dict[str, Any], where: str) -> Finding:
    check = req_str(det, "check", where, limit=200)
    impact = req_str(det, "impact", where, limit=50)
    severity = IMPACT.get(impact)
    if severity is None:
        raise InvalidAuditInput(f"{where}.impact: unknown Slither impact {impact[:50]!r}")
    confidence = req_str(det, "confidence", where, limit=50)
    elements = arr(det.get("elements", []), f"{where}.elements", limit=MAX_ELEMENTS)
    path = None
    lines: list[int] = []
    contract = function = ""
    parts: list[str] = []
    known: dict[str, str] = {}
    for j, el in enumerate(elements):
        ew = f"{where}.elements[{j}]"
        el = obj(el, ew)
        kind = opt_str(el, "type", ew, limit=50) or ""
        name = opt_str(el, "name", ew, limit=4096) or ""
        parts.append(f"{kind}:{name}")
        sm = el.get("source_mapping")
        if isinstance(sm, dict) and ("filename_relative" in sm or "filename_short" in sm):
            rel, more = _relpath(sm, f"{ew}.source_mapping")
            known.update(more)
            if path is None:
                path = rel
                lines = [n for n in arr(sm.get("lines", []), f"{ew}.source_mapping.lines")]
                if not all(type(n) is int and n > 0 for n in lines):
                    raise InvalidAuditInput(f"{ew}.source_mapping.lines: positive integers")
        parent = _parent(el, ew)
        if kind == "contract" and not contract:
            contract = name
        elif kind == "function" and not function:
            function = name
            contract = contract or parent
        elif parent and not function and kind == "node":
            function = parent
    description = scrub_local_paths(opt_str(det, "description", where) or check, known)
    first = description.strip().splitlines()[0] if description.strip() else check
    location = (
        Location(path=path, line=min(lines), end_line=max(lines) if len(lines) > 1 else None)
        if path is not None and lines
        else Location(path=path)
        if path is not None
        else Location(url=f"slither:{check}")
    )
    props: dict[str, Any] = {
        "original_severity": impact,
        "original_confidence": confidence,
        "contract": contract,
        "function": function,
    }
    reference = opt_str(det, "reference", where, limit=2000)
    if reference and reference.startswith("https://"):
        props["more_info"] = reference
    slither_id = opt_str(det, "id", where, limit=128)
    if slither_id:
        props["slither_id"] = slither_id
    return Finding(
        source=Source.AUDIT,
        tool="slither",
        rule_id=check,
        severity=severity,
        confidence=map_confidence(confidence),
        title=first.rstrip(":")[:500],
        message=description,
        location=location,
        snippet=normalize_snippet([contract, function, *sorted(parts)]),
        properties=props,
    )


def _parent(el: dict[str, Any], where: str) -> str:
    fields = el.get("type_specific_fields")
    if not isinstance(fields, dict):
        return ""
    parent = fields.get("parent")
    if not isinstance(parent, dict):
        return ""
    return opt_str(parent, "name", f"{where}.type_specific_fields.parent", limit=4096) or ""
