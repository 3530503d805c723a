"""The report model: verified evidence in, the ``report.json`` document out (no I/O).

The document is the single source every renderer reads (HTML, Markdown, and
``report verify`` re-renders from the signed JSON), so everything a page
shows is in it. It is deterministic: no render-time clock, every list sorted.
Findings keep their text verbatim (renderers escape); their status is
nebsign's :class:`~nebsign.findings.Status`, grouped as *open*, *accepted*
(acknowledged, accepted risk, false positive: never remediated) and *fixed*.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from nebsign import __version__
from nebsign._internal.canonical import canonical_json
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.findings import Finding, Severity, Status
from nebsign.report.diff import apply_changes, trend_point
from nebsign.report.evidence import Evidence, SignedBy
from nebsign.report.sections import (
    audit_section,
    gate_section,
    kind_of,
    scan_section,
    verdict_of,
)

__all__ = ["REPORT_SCHEMA", "build_report", "group_of"]

REPORT_SCHEMA = "https://nebsign.dev/report/v1"
_FIX_KEYS = ("fix_refs", "fix_ref", "fix_commit", "fix_pr", "fix_url")
_LABEL_KEYS = ("firm_id", "original_severity", "original_status")
_MAX_SUMS = 50


def group_of(status: Status) -> str:
    """open | accepted | fixed. Only ``fixed`` is remediated; acknowledged is not."""
    if status is Status.OPEN:
        return "open"
    if status is Status.FIXED:
        return "fixed"
    return "accepted"


def _signer(signed: SignedBy) -> dict[str, Any]:
    return {
        "signer": signed.signer,
        "signer_kind": signed.kind,
        "log_index": signed.log_index,
        "integrated_time": signed.integrated_time,
    }


def _fix_refs(props: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in _FIX_KEYS:
        value = props.get(key)
        items = value if isinstance(value, list) else [value]
        out.extend(str(v) for v in items if type(v) in (str, int))
    return out


def finding_id(f: Finding) -> str:
    """The fingerprint, or a digest of what identifies a finding that has none."""
    if f.fingerprint:
        return f.fingerprint
    key = [f.source.value, f.tool, f.rule_id, f.location.to_dict(), f.title]
    return sha256_bytes(canonical_json(key))


def _finding_row(f: Finding, file: str) -> dict[str, Any]:
    props = dict(f.properties)
    note = f.status_note
    return {
        "id": finding_id(f),
        "source": f.source.value,
        "evidence": file,
        "tool": f.tool,
        "rule_id": f.rule_id,
        "severity": f.severity.value,
        "confidence": f.confidence.value,
        "title": f.title,
        "message": f.message,
        "recommendation": f.recommendation,
        "location": str(f.location),
        "url": f.location.url,
        "cwe": list(f.cwe),
        "swc": list(f.swc),
        "status": f.status.value,
        "group": group_of(f.status),
        "remediated": f.status is Status.FIXED,
        "note": (
            {
                "who": note.who,
                "why": note.why,
                "until": note.until.isoformat() if note.until else None,
            }
            if note is not None
            else None
        ),
        "labels": {k: str(props[k]) for k in _LABEL_KEYS if type(props.get(k)) in (str, int)},
        "fix_refs": _fix_refs(props),
        "change": None,
    }


def _findings(pred: dict[str, Any], file: str) -> list[dict[str, Any]]:
    raw = pred.get("findings")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(f"{file}: 'findings' must be a list")
    parsed = [Finding.from_dict(item, f"{file}: findings[{i}]") for i, item in enumerate(raw)]
    return [_finding_row(f, file) for f in sorted(parsed, key=Finding.sort_key)]


def summarize(findings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts by severity and status group (the chart's data)."""
    table = {s.value: {"open": 0, "accepted": 0, "fixed": 0} for s in Severity}
    for f in findings:
        table[f["severity"]][f["group"]] += 1
    totals = {g: sum(row[g] for row in table.values()) for g in ("open", "accepted", "fixed")}
    return {"by_severity": table, **totals, "total": len(findings)}


def _verify_section(ev: Evidence, artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    """Commands anyone can run, in a directory holding the release as ``<name>-<version>/``,
    its trust policy as ``trust.toml`` and this report as ``report/``."""
    from nebsign.checksums import format_line

    name = f"{ev.manifest.name or 'release'}-{ev.manifest.version or 'unversioned'}"
    rel = shlex.quote(name)
    sums = [
        format_line(a["sha256"], a["path"].encode("utf-8", "surrogateescape"))
        .decode("utf-8", "replace")
        .rstrip("\n")
        for a in artifacts[:_MAX_SUMS]
    ]
    attest = [
        f"nebsign attest verify {shlex.quote(name + '/' + a.path)} --policy trust.toml "
        f"--subject {rel}/release.json"
        for a in ev.attestations
    ]
    return {
        "release_dir": name,
        "commands": [
            f"nebsign verify {rel}/release.json --manifest --root {rel}/payload "
            "--policy trust.toml",
            *attest,
            f"nebsign report verify report --policy trust.toml --release {rel}",
        ],
        "sha256sum": sums,
        "sha256sum_more": max(0, len(artifacts) - _MAX_SUMS),
    }


def build_report(
    ev: Evidence, *, previous: dict[str, Any] | None = None, date: str | None = None
) -> dict[str, Any]:
    """The ``report.json`` document for verified evidence *ev*."""
    m = ev.manifest
    artifacts = [
        {"path": e.path, "size": e.size, "sha256": e.sha256, "executable": e.executable}
        for e in m.files
    ]
    evidence, scans, audits, gates, findings = [], [], [], [], []
    for att in ev.attestations:
        assert att.statement is not None
        st, file = att.statement, att.path
        kind = kind_of(st.predicate_type)
        pred = st.predicate
        verdict, reason = verdict_of(pred, file)
        evidence.append(
            {
                "file": file,
                "bundle_sha256": att.sha256,
                "predicate_type": st.predicate_type,
                "kind": kind,
                "verdict": verdict,
                "reason": reason,
                **_signer(att.signed_by),
            }
        )
        if kind in ("sast", "dast"):
            scans.append(scan_section(kind, pred, file))
        elif kind == "audit":
            audits.append(audit_section(pred, file))
        elif kind == "gate":
            gates.append(gate_section(pred, file))
        if kind in ("sast", "dast", "audit"):
            findings.extend(_findings(pred, file))
    findings.sort(
        key=lambda f: (-Severity(f["severity"]).rank, f["source"], f["location"], f["id"])
    )
    times = sorted(s.signed_by.integrated_time or "" for s in ev.signatures)
    doc: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "generator": f"nebsign {__version__}",
        "preview": not ev.verified,
        "problems": list(ev.problems),
        "release": {
            "name": m.name,
            "version": m.version,
            "date": date or (times[0][:10] if times and times[0] else None),
            "expires": m.expires,
            "manifest_sha256": ev.manifest_sha256,
            "files": len(m.files),
            "total_size": m.total_size,
            "payload_checked": ev.payload_checked,
            "policy_digest": ev.policy_digest,
        },
        "signatures": [
            {"file": s.path, "bundle_sha256": s.sha256, **_signer(s.signed_by)}
            for s in ev.signatures
        ],
        "artifacts": artifacts,
        "links": [{"path": lk.path, "target": lk.target} for lk in m.symlinks],
        "evidence": evidence,
        "scans": scans,
        "audits": audits,
        "gates": gates,
        "findings": findings,
        "summary": summarize(findings),
        "changes": None,
        "trend": [],
        "verify": _verify_section(ev, artifacts),
    }
    apply_changes(doc, previous)
    doc["trend"] = [*(previous or {}).get("trend", [])[-11:], trend_point(doc)]
    return doc
