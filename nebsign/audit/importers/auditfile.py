"""nebsign's own audit file (TOML or JSON; schema in nebsign/_schemas/audit-file-v1.json).

It says who audited (``auditor``, ``report``, ``dates``), which bytes
(``repository``, ``commit``, ``scope`` = files with their SHA-256, or SHA-1
labelled weak) and what they found (``findings`` with the firm's id,
severity and status labels, kept as they were written).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from nebsign._internal.canonical import parse_json_object
from nebsign._internal.safepath import check_relpaths
from nebsign.audit._fields import (
    InvalidAuditInput,
    arr,
    no_unknown,
    obj,
    opt_int,
    opt_str,
    relpath,
    req_str,
)
from nebsign.audit.interface import MAX_AUDIT_BYTES, Importer
from nebsign.audit.mapping import map_confidence, map_severity, map_status
from nebsign.audit.model import Audit, ScopeEntry
from nebsign.errors import InputError
from nebsign.findings import Finding, Location, Source, Status, StatusNote, fingerprint

__all__ = ["SCHEMA_ID", "AuditFileImporter", "parse_audit_document"]

SCHEMA_ID = "https://nebsign.dev/schemas/audit-file/v1"
MAX_FINDINGS = 100_000
MAX_SCOPE = 100_000
_TOP = frozenset(
    {"schema", "auditor", "report", "dates", "repository", "commit", "scope", "findings"}
)
_FINDING = frozenset(
    {
        "id",
        "title",
        "severity",
        "status",
        "likelihood",
        "difficulty",
        "impact",
        "category",
        "swc",
        "cwe",
        "location",
        "description",
        "recommendation",
        "fix",
    }
)
_LOCATION = frozenset({"path", "line", "end_line", "contract", "function"})
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-\[\] ]{0,63}")
_SWC = re.compile(r"SWC-[0-9]{3}")
_CWE = re.compile(r"CWE-[0-9]{1,5}")


class AuditFileImporter(Importer):
    name = "nebsign"

    def sniff(self, raw: bytes, filename: str) -> bool:
        return SCHEMA_ID.encode() in raw

    def parse(self, raw: bytes, what: str) -> Audit:
        if len(raw) > MAX_AUDIT_BYTES:
            raise InvalidAuditInput(f"{what}: larger than {MAX_AUDIT_BYTES} bytes")
        if raw.lstrip()[:1] == b"{":
            doc = parse_json_object(raw, what, limit=MAX_AUDIT_BYTES, error=InvalidAuditInput)
        else:
            from nebsign.policy import load_toml

            try:
                doc = load_toml(raw, what, limit=MAX_AUDIT_BYTES)
            except InputError as exc:
                raise InvalidAuditInput(exc.message) from exc
        return parse_audit_document(doc, what)


def _date(value: object, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidAuditInput(f"{where}: must be a date like 2026-10-12")


def _https(o: dict[str, Any], key: str, where: str, *, required: bool) -> str:
    url = req_str(o, key, where, limit=2000) if required else opt_str(o, key, where, limit=2000)
    if url and not re.fullmatch(r"https://[\x21-\x7e]+", url):
        raise InvalidAuditInput(f"{where}.{key}: must be an https:// URL")
    return url or ""


def parse_audit_document(doc: dict[str, Any], what: str) -> Audit:
    """An :class:`Audit` from a parsed audit file; errors name the field path."""
    where = what
    no_unknown(doc, _TOP, where)
    if doc.get("schema") != SCHEMA_ID:
        raise InvalidAuditInput(f"{where}.schema: must be {SCHEMA_ID!r}")
    auditor = req_str(doc, "auditor", where, limit=200)
    report = obj(doc.get("report"), f"{where}.report")
    no_unknown(report, frozenset({"title", "url"}), f"{where}.report")
    dates = obj(doc.get("dates", {}), f"{where}.dates")
    no_unknown(dates, frozenset({"audit", "fix_review"}), f"{where}.dates")
    commit = opt_str(doc, "commit", where, limit=64) or ""
    if commit and not _COMMIT.fullmatch(commit):
        raise InvalidAuditInput(f"{where}.commit: must be a lowercase hex commit id")
    scope = _scope(arr(doc.get("scope"), f"{where}.scope", limit=MAX_SCOPE), where)
    if not scope:
        raise InvalidAuditInput(f"{where}.scope: an audit covers at least one file")
    findings: list[Finding] = []
    ids: set[str] = set()
    raw_findings = arr(doc.get("findings", []), f"{where}.findings", limit=MAX_FINDINGS)
    for i, item in enumerate(raw_findings):
        finding = _finding(obj(item, f"{where}.findings[{i}]"), auditor, f"{where}.findings[{i}]")
        if finding.rule_id in ids:
            raise InvalidAuditInput(f"{where}.findings[{i}].id: {finding.rule_id!r} used twice")
        ids.add(finding.rule_id)
        findings.append(finding)
    return Audit(
        kind="nebsign",
        auditor=auditor,
        findings=tuple(findings),
        scope=tuple(sorted(scope, key=lambda s: s.path)),
        report_title=req_str(report, "title", f"{where}.report", limit=500),
        report_url=_https(report, "url", f"{where}.report", required=True),
        audit_date=_date(dates.get("audit"), f"{where}.dates.audit"),
        fix_review_date=_date(dates.get("fix_review"), f"{where}.dates.fix_review"),
        repository=_https(doc, "repository", where, required=False),
        commit=commit,
    )


_SCOPE_KEYS = frozenset({"path", "sha256", "sha1"})


def _scope(items: list[Any], where: str) -> list[ScopeEntry]:
    """Scope entries; paths checked in bulk (C speed), each one again on error."""
    scope: list[ScopeEntry] = []
    for i, item in enumerate(items):
        sw = f"{where}.scope[{i}]"
        item = obj(item, sw)
        if len(item) != 2 or not item.keys() <= _SCOPE_KEYS:
            no_unknown(item, _SCOPE_KEYS, sw)
            raise InvalidAuditInput(f"{sw}: needs a path and exactly one of sha256, sha1")
        alg = "sha256" if "sha256" in item else "sha1"
        path = req_str(item, "path", sw, limit=4096)
        digest = req_str(item, alg, sw, limit=64).lower()
        try:
            scope.append(ScopeEntry(path, alg, digest))
        except InvalidAuditInput as exc:
            raise InvalidAuditInput(f"{sw}.{alg}: {exc.message}") from exc
    paths = [e.path for e in scope]
    try:
        check_relpaths(paths)
    except InputError:
        for i, path in enumerate(paths):
            relpath(path, f"{where}.scope[{i}].path")
    if len(set(paths)) != len(paths):
        seen: set[str] = set()
        for i, path in enumerate(paths):
            if path in seen:
                raise InvalidAuditInput(f"{where}.scope[{i}].path: {path!r} listed twice")
            seen.add(path)
    return scope


def _ids(value: object, pattern: re.Pattern[str], where: str) -> tuple[str, ...]:
    items = arr(value if value is not None else [], where, limit=64)
    out = []
    for j, item in enumerate(items):
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise InvalidAuditInput(f"{where}[{j}]: must look like {pattern.pattern}")
        out.append(item)
    return tuple(out)


def _finding(item: dict[str, Any], auditor: str, where: str) -> Finding:
    no_unknown(item, _FINDING, where)
    firm_id = req_str(item, "id", where, limit=64)
    if not _ID.fullmatch(firm_id):
        raise InvalidAuditInput(f"{where}.id: letters, digits and -_.:[] only")
    severity_label = req_str(item, "severity", where, limit=60)
    status_label = req_str(item, "status", where, limit=60)
    severity = map_severity(severity_label, f"{where}.severity")
    status = map_status(status_label, f"{where}.status")
    props: dict[str, Any] = {
        "firm_id": firm_id,
        "original_severity": severity_label,
        "original_status": status_label,
    }
    for key in ("likelihood", "difficulty", "impact", "category"):
        value = opt_str(item, key, where, limit=200)
        if value:
            props[key] = value
    fix = obj(item.get("fix", {}), f"{where}.fix")
    no_unknown(fix, frozenset({"commit", "pr"}), f"{where}.fix")
    fix_commit = opt_str(fix, "commit", f"{where}.fix", limit=64)
    if fix_commit:
        if not _COMMIT.fullmatch(fix_commit):
            raise InvalidAuditInput(f"{where}.fix.commit: must be a lowercase hex commit id")
        props["fix_commit"] = fix_commit
    pr = _https(fix, "pr", f"{where}.fix", required=False)
    if pr:
        props["fix_pr"] = pr
    loc_raw = obj(item.get("location", {}), f"{where}.location")
    no_unknown(loc_raw, _LOCATION, f"{where}.location")
    path = opt_str(loc_raw, "path", f"{where}.location", limit=4096)
    for key in ("contract", "function"):
        value = opt_str(loc_raw, key, f"{where}.location", limit=200)
        if value:
            props[key] = value
    if path:
        relpath(path, f"{where}.location.path")
        line = opt_int(loc_raw, "line", f"{where}.location")
        end_line = opt_int(loc_raw, "end_line", f"{where}.location")
        location = Location(path=path, line=line, end_line=end_line)
    else:
        location = Location(url=f"audit:{firm_id}")
    note = None
    if status is not Status.OPEN:
        why = status_label
        if fix_commit or pr:
            why += " (fix: " + ", ".join(x for x in (fix_commit, pr) if x) + ")"
        note = StatusNote(who=auditor, why=why)
    return Finding(
        source=Source.AUDIT,
        tool=auditor,
        rule_id=firm_id,
        severity=severity,
        confidence=map_confidence(props.get("likelihood")),
        title=req_str(item, "title", where, limit=500),
        message=opt_str(item, "description", where) or "",
        recommendation=opt_str(item, "recommendation", where) or "",
        location=location,
        cwe=_ids(item.get("cwe"), _CWE, f"{where}.cwe"),
        swc=_ids(item.get("swc"), _SWC, f"{where}.swc"),
        fingerprint=fingerprint(firm_id, location.path or "", auditor, 0),
        status=status,
        status_note=note,
        properties=props,
    )
