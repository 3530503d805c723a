"""Slither's JSON output (``slither . --json out.json``).

Known traps, handled here: Slither's own ``id`` changes with unrelated edits,
so the fingerprint is computed from the check, the contract, the function and
the normalized source of the elements instead; ``filename_absolute`` holds the
auditor's local paths, so it is dropped and every text is scrubbed of it;
Slither exits 255 when it finds something (the caller, not this parser,
deals with exit codes).
"""

from __future__ import annotations

import json
import re
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
    Confidence,
    Finding,
    Location,
    Severity,
    Source,
    fingerprint,
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
_CONFIDENCE = {"High": Confidence.HIGH, "Medium": Confidence.MEDIUM, "Low": Confidence.LOW}
MAX_ELEMENTS = 10_000


class SlitherImporter(Importer):
    name = "slither"

    def sniff(self, raw: bytes, filename: str) -> bool:
        head = raw[:4096]
        return (
            head.lstrip()[:1] == b"{"
            and b'"detectors"' in raw
            and b'"success"' in raw
            and b'"runs"' not in head
        )

    def parse(self, raw: bytes, what: str) -> Audit:
        doc = parse_json_object(
            raw, what, limit=MAX_AUDIT_BYTES, check_duplicates=False, error=InvalidAuditInput
        )
        if _SURROGATE_ESCAPE.search(raw):
            _no_lone_surrogates(doc, what)
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
    return tuple(_fingerprinted(found))


def _fingerprinted(found: list[dict[str, Any]]) -> list[Finding]:
    """Findings numbered like :func:`~nebsign.findings.assign_fingerprints` (twins in
    line order), each built once: the snippet is already normalized."""

    def order(kw: dict[str, Any]) -> tuple[Any, ...]:
        loc: Location = kw["location"]
        path = loc.path or loc.url or ""
        return (loc.path or "", path, loc.line or 0, loc.column or 0, kw["rule_id"])

    seen: dict[tuple[str, str, str], int] = {}
    out: list[Finding] = []
    for kw in sorted(found, key=order):
        loc = kw["location"]
        key = (kw["rule_id"], loc.path or loc.url or "", kw["snippet"])
        index = seen.get(key, 0)
        seen[key] = index + 1
        out.append(Finding(**kw, fingerprint=fingerprint(key[0], key[1], key[2], index)))
    return out


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


def _no_lone_surrogates(doc: Mapping[str, Any], what: str) -> None:
    """Escaped surrogates must pair up (one C-speed pass, only when the bytes hold any)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidAuditInput(f"{what}: a string holds an unpaired UTF-16 surrogate") from exc


def _s(value: object, where: str, limit: int = 4096) -> str:
    """A string field of at most *limit* characters (Unicode checked per document)."""
    if type(value) is not str or len(value) > limit:
        raise InvalidAuditInput(f"{where}: must be a string of at most {limit} characters")
    return value


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


def _finding(det: dict[str, Any], where: str) -> dict[str, Any]:
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
        if type(el) is not dict:
            raise InvalidAuditInput(f"{where}.elements[{j}]: must be an object")
        kind = _s(el.get("type", ""), f"{where}.elements[{j}].type", 50)
        name = _s(el.get("name", ""), f"{where}.elements[{j}].name")
        parts.append(f"{kind}:{name}")
        sm = el.get("source_mapping")
        if path is None and type(sm) is dict:
            ew = f"{where}.elements[{j}]"
            rel, more = _relpath(sm, f"{ew}.source_mapping")
            known.update(more)
            path = rel
            lines = arr(sm.get("lines", []), f"{ew}.source_mapping.lines")
            if not all(type(n) is int and 0 < n < 10_000_000 for n in lines):
                raise InvalidAuditInput(f"{ew}.source_mapping.lines: positive integers")
        elif type(sm) is dict:
            absolute = sm.get("filename_absolute")
            rel_name = sm.get("filename_relative")
            if type(absolute) is str and type(rel_name) is str and absolute not in known:
                known[absolute] = rel_name
        parent = _parent(el, f"{where}.elements[{j}]")
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
    return dict(
        source=Source.AUDIT,
        tool="slither",
        rule_id=check,
        severity=severity,
        title=first.rstrip(":")[:500],
        message=description,
        location=location,
        snippet=normalize_snippet([contract, function, *sorted(parts)]),
        confidence=_CONFIDENCE.get(confidence) or map_confidence(confidence),
        properties=props,
    )


def _parent(el: dict[str, Any], where: str) -> str:
    fields = el.get("type_specific_fields")
    if not isinstance(fields, dict):
        return ""
    parent = fields.get("parent")
    if not isinstance(parent, dict):
        return ""
    return _s(parent.get("name", ""), f"{where}.type_specific_fields.parent.name")
