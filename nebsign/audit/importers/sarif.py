"""SARIF 2.1.0 from any contract analyser (Slither, Mythril, ...), via :mod:`nebsign.sarif`.

Findings keep the tool's level as ``original_severity``. Slither's SARIF
leaves out findings without a source location: when the same run is also
available as Slither JSON, import the JSON (:func:`nebsign.audit.check.merge`
drops the SARIF copy of a tool that also came as JSON).
"""

from __future__ import annotations

from dataclasses import replace

from nebsign._internal.canonical import parse_json_object
from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.interface import Importer
from nebsign.audit.model import Audit, scrub_local_paths
from nebsign.errors import InputError
from nebsign.findings import Severity, Source, assign_fingerprints
from nebsign.sarif import MAX_SARIF_BYTES, from_sarif

__all__ = ["SarifImporter"]


class SarifImporter(Importer):
    name = "sarif"

    def sniff(self, raw: bytes, filename: str) -> bool:
        head = raw[:4096]
        return b'"runs"' in raw and (b"sarif" in head.lower() or b'"2.1.0"' in raw)

    def parse(self, raw: bytes, what: str) -> Audit:
        try:
            found = from_sarif(raw, what, source=Source.AUDIT)
        except InvalidAuditInput:
            raise
        except InputError as exc:
            raise InvalidAuditInput(exc.message) from exc
        rules = _rule_info(raw)
        foreign, kept = [], []
        for f in found:
            if "sarif_level" not in f.properties:  # nebsign's own SARIF: exact round trip
                kept.append(f)
                continue
            props = dict(f.properties)
            props["original_severity"] = str(props["sarif_level"])
            severity = f.severity
            score, rule_name = rules.get((f.tool, f.rule_id), (None, None))
            if score is not None:
                severity = _from_score(score)
                props["original_severity"] = f"security-severity {score}"
            if rule_name:
                props["rule_name"] = rule_name
            if f.fingerprint:
                props["tool_fingerprint"] = f.fingerprint
            # the tool's own fingerprint may change with unrelated edits: nebsign's
            # is rule + path + normalized code + occurrence
            foreign.append(
                replace(
                    f,
                    source=Source.AUDIT,
                    severity=severity,
                    message=scrub_local_paths(f.message),
                    title=scrub_local_paths(f.title),
                    fingerprint="",
                    properties=props,
                )
            )
        cleaned = kept + foreign
        tools = sorted({f.tool for f in cleaned})
        return Audit(
            kind="sarif",
            auditor=", ".join(tools) or "SARIF",
            findings=tuple(kept + assign_fingerprints(foreign)),
        )


def _from_score(score: float) -> Severity:
    """GitHub's security-severity bands (CVSS-like)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


def _rule_info(raw: bytes) -> dict[tuple[str, str], tuple[float | None, str | None]]:
    """(tool, rule id) -> (security-severity, rule name), where the log gives them.

    Called after :func:`from_sarif` accepted the log, so the shape is known;
    odd values are skipped, not trusted.
    """
    doc = parse_json_object(raw, "SARIF log", limit=MAX_SARIF_BYTES, error=InvalidAuditInput)
    out: dict[tuple[str, str], tuple[float | None, str | None]] = {}
    for run in doc.get("runs", []):
        driver = run.get("tool", {}).get("driver", {})
        tool = driver.get("name")
        for rule in driver.get("rules", []):
            props = rule.get("properties", {}) if isinstance(rule.get("properties"), dict) else {}
            raw_score = props.get("security-severity")
            score = None
            try:
                if isinstance(raw_score, str | int | float) and not isinstance(raw_score, bool):
                    value = float(raw_score)
                    score = value if 0.0 <= value <= 10.0 else None
            except ValueError:
                score = None
            name = rule.get("name") if isinstance(rule.get("name"), str) else None
            out[(str(tool), str(rule.get("id")))] = (score, name[:200] if name else None)
    return out
