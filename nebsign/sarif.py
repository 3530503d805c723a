"""Finding <-> SARIF 2.1.0, pure (dicts and bytes in, values out, no I/O).

:func:`to_sarif` writes one run whose driver is nebsign and whose
``tool.extensions`` name the scanners and their versions. It fills what
GitHub code scanning requires without post-processing: per rule ``id``,
``shortDescription``, ``fullDescription``, ``help`` and
``properties.security-severity``; per result ``message.text``, a file
location with ``startLine`` and ``partialFingerprints``; per run
``automationDetails.id``. :func:`from_sarif` parses a SARIF log (ours or
another tool's) back into findings, with a size limit; anything malformed is
an :class:`~nebsign.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign._internal.fields import arr, integer, maybe, obj, string
from nebsign._internal.safepath import check_relpath
from nebsign.errors import InputError
from nebsign.findings import (
    Confidence,
    Finding,
    Location,
    Severity,
    Source,
    Status,
    StatusNote,
)

__all__ = [
    "FINGERPRINT_KEY",
    "MAX_SARIF_BYTES",
    "SARIF_SCHEMA",
    "from_sarif",
    "sarif_bytes",
    "to_sarif",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "nebsign/v1"
MAX_SARIF_BYTES = 64 * 1024 * 1024
_LEVEL_OF_POLICY = {"FAIL": "error", "WARN": "warning", "INFO": "note"}
_LEVEL_OF_SEVERITY = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SEVERITY_OF_LEVEL = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW}
_ACCEPTED = {Status.ACCEPTED_RISK, Status.FALSE_POSITIVE, Status.ACKNOWLEDGED}


def _sarif_rule_id(finding: Finding) -> str:
    return f"{finding.tool}/{finding.rule_id}"


def _level(finding: Finding) -> str:
    policy = finding.properties.get("level")
    if isinstance(policy, str) and policy in _LEVEL_OF_POLICY:
        return _LEVEL_OF_POLICY[policy]
    return _LEVEL_OF_SEVERITY[finding.severity]


def _rule(finding: Finding) -> dict[str, Any]:
    cwe_tags = [f"external/cwe/{c.lower()}" for c in finding.cwe]
    help_text = finding.recommendation or finding.message
    if finding.cwe:
        help_text += f" ({', '.join(finding.cwe)})"
    rule: dict[str, Any] = {
        "id": _sarif_rule_id(finding),
        "name": finding.rule_id,
        "shortDescription": {"text": finding.title or finding.rule_id},
        "fullDescription": {"text": finding.message or finding.title or finding.rule_id},
        "help": {"text": help_text, "markdown": f"**{finding.title}**\n\n{help_text}"},
        "defaultConfiguration": {"level": _LEVEL_OF_SEVERITY[finding.severity]},
        "properties": {
            "security-severity": finding.severity.security_severity,
            "precision": {"high": "high", "medium": "medium", "low": "low"}[
                finding.confidence.value
            ],
            "tags": ["security", *cwe_tags],
        },
    }
    more = finding.properties.get("more_info")
    if isinstance(more, str) and more.startswith("https://"):
        rule["helpUri"] = more
    return rule


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    loc = finding.location
    if loc.path is not None:
        region: dict[str, Any] = {"startLine": loc.line or 1}
        if loc.column:
            region["startColumn"] = loc.column
        if loc.end_line:
            region["endLine"] = loc.end_line
        if loc.end_column and loc.end_line:
            region["endColumn"] = loc.end_column
        if finding.snippet:
            region["snippet"] = {"text": finding.snippet}
        physical = {
            "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    else:
        physical = {"artifactLocation": {"uri": loc.url or ""}}
    result: dict[str, Any] = {
        "ruleId": _sarif_rule_id(finding),
        "ruleIndex": rule_index,
        "level": _level(finding),
        "message": {"text": finding.message or finding.title or finding.rule_id},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"nebsign": finding.to_dict()},
    }
    if finding.status in _ACCEPTED and finding.status_note is not None:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{finding.status.value} by {finding.status_note.who}: "
                f"{finding.status_note.why}",
            }
        ]
    return result


def to_sarif(
    findings: Iterable[Finding],
    *,
    tools: Mapping[str, str],
    driver_version: str,
    automation_id: str = "nebsign/sast/",
) -> dict[str, Any]:
    """One SARIF 2.1.0 log (a dict) for *findings*; deterministic order."""
    items = sorted(findings, key=Finding.sort_key)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for finding in sorted(items, key=lambda f: (_sarif_rule_id(f), f.sort_key())):
        rid = _sarif_rule_id(finding)
        if rid not in index:
            index[rid] = len(rules)
            rules.append(_rule(finding))
    run = {
        "tool": {
            "driver": {
                "name": "nebsign",
                "version": driver_version,
                "informationUri": "https://github.com/nebsign/nebsign",
                "rules": rules,
            },
            "extensions": [{"name": name, "version": tools[name]} for name in sorted(tools)],
        },
        "automationDetails": {"id": automation_id},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[_sarif_rule_id(f)]) for f in items],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def sarif_bytes(log: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a SARIF log."""
    return canonical_json(dict(log))


def from_sarif(
    raw: bytes, what: str = "SARIF log", *, source: Source = Source.SAST
) -> list[Finding]:
    """Findings from a SARIF 2.1.0 log; nebsign's own properties round-trip exactly.

    *source* is the capability a foreign tool's results belong to (a contract
    analyser's SARIF imports as ``Source.AUDIT``).
    """
    doc = parse_json_object(raw, what, limit=MAX_SARIF_BYTES)
    if doc.get("version") != "2.1.0":
        raise InputError(f"{what}: not SARIF 2.1.0")
    out: list[Finding] = []
    for r, run in enumerate(arr(doc.get("runs"), f"{what}: runs")):
        rw = f"{what}: runs[{r}]"
        run = obj(run, rw)
        driver = obj(obj(run.get("tool"), f"{rw}.tool").get("driver"), f"{rw}.tool.driver")
        tool = string(driver.get("name"), f"{rw}.tool.driver.name", limit=MAX_SARIF_BYTES)
        rules = {}
        for i, rule in enumerate(arr(driver.get("rules", []), f"{rw}.rules")):
            rule = obj(rule, f"{rw}.rules[{i}]")
            rules[string(rule.get("id"), f"{rw}.rules[{i}].id", limit=MAX_SARIF_BYTES)] = rule
        for i, res in enumerate(arr(run.get("results", []), f"{rw}.results")):
            out.append(
                _parse_result(
                    obj(res, f"{rw}.results[{i}]"), tool, rules, f"{rw}.results[{i}]", source
                )
            )
    return out


def _parse_result(
    res: dict[str, Any],
    tool: str,
    rules: Mapping[str, dict[str, Any]],
    what: str,
    source: Source = Source.SAST,
) -> Finding:
    props = obj(res.get("properties", {}), f"{what}.properties")
    if "nebsign" in props:
        return Finding.from_dict(props["nebsign"], f"{what}.properties.nebsign")
    rule_id = string(res.get("ruleId"), f"{what}.ruleId", limit=MAX_SARIF_BYTES)
    rule = rules.get(rule_id, {})
    message = string(
        obj(res.get("message"), f"{what}.message").get("text"),
        f"{what}.message.text",
        limit=MAX_SARIF_BYTES,
    )
    locations = arr(res.get("locations", []), f"{what}.locations")
    if not locations:
        raise InputError(f"{what}: no location")
    phys = obj(obj(locations[0], f"{what}.locations[0]").get("physicalLocation"), what)
    art = obj(phys.get("artifactLocation"), f"{what}.artifactLocation")
    region = obj(phys.get("region", {}), f"{what}.region")
    uri = check_relpath(
        string(art.get("uri"), f"{what}.artifactLocation.uri", limit=MAX_SARIF_BYTES), what
    )
    level = res.get("level", "warning")
    short = rule.get("shortDescription", {}) if isinstance(rule, dict) else {}
    fps = obj(res.get("partialFingerprints", {}), f"{what}.partialFingerprints")
    note = None
    status = Status.OPEN
    for sup in arr(res.get("suppressions", []), f"{what}.suppressions"):
        sup = obj(sup, f"{what}.suppressions[]")
        if sup.get("status", "accepted") == "accepted":
            status = Status.ACCEPTED_RISK
            note = StatusNote("unknown", str(sup.get("justification", "")))
    return Finding(
        source=source,
        tool=tool,
        rule_id=rule_id,
        severity=_SEVERITY_OF_LEVEL.get(str(level), Severity.MEDIUM),
        confidence=Confidence.MEDIUM,
        title=str(short.get("text", rule_id)) if isinstance(short, dict) else rule_id,
        message=message,
        location=Location(
            path=uri,
            line=maybe(integer, region.get("startLine"), f"{what}.startLine", low=1),
            column=maybe(integer, region.get("startColumn"), f"{what}.startColumn", low=1),
            end_line=maybe(integer, region.get("endLine"), f"{what}.endLine", low=1),
            end_column=maybe(integer, region.get("endColumn"), f"{what}.endColumn", low=1),
        ),
        fingerprint=str(next(iter(fps.values()), "")) if fps else "",
        status=status,
        status_note=note,
        properties={"sarif_level": str(level)},
    )
