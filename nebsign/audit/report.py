"""The audit verdict as the AUDIT_V1 predicate, as terminal text, and as SARIF.

The predicate follows the shared convention (verdict, reason, policy_digest,
tools, counts, findings, findings_digest) plus the audit's own keys: auditor,
report, dates, repository, commit, scope, coverage. Its subjects are the
scope files by path and SHA-256 (SHA-1 entries cannot be subjects) and,
after ``audit check``, the release manifest. Deterministic.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from nebsign import __version__
from nebsign.attest import AUDIT_V1, Statement, Subject
from nebsign.audit.check import AuditVerdict
from nebsign.audit.model import Audit
from nebsign.errors import InputError
from nebsign.findings import Finding, Severity, Status, verdict_predicate
from nebsign.sarif import to_sarif

__all__ = ["PREDICATE_TYPE", "format_text", "predicate", "result_dict", "sarif_log", "statement"]

PREDICATE_TYPE = AUDIT_V1
RESULT_SCHEMA = "https://nebsign.dev/audit-result/v1"


def _primary(verdict: AuditVerdict) -> Audit | None:
    for audit in verdict.audits:
        if audit.kind == "nebsign":
            return audit
    return verdict.audits[0] if verdict.audits else None


def _scope(verdict: AuditVerdict) -> list[dict[str, Any]]:
    entries = {(e.path, e.algorithm, e.digest): e for a in verdict.audits for e in a.scope}
    return [entries[k].to_dict() for k in sorted(entries)]


def counts(verdict: AuditVerdict) -> dict[str, Any]:
    by_sev = Counter(f.severity.value for f in verdict.findings)
    by_status = Counter(f.status.value for f in verdict.findings)
    out: dict[str, Any] = {
        "findings": len(verdict.findings),
        "by_severity": {s.value: by_sev.get(s.value, 0) for s in Severity},
        "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
        # only Status.FIXED is fixed: acknowledged / declined / won't fix never are
        "fixed": by_status.get(Status.FIXED.value, 0),
        "open_at_or_above_level": len(verdict.open_findings),
    }
    cov = verdict.coverage
    if cov is not None:
        out.update(
            required_files=cov.required,
            covered=len(cov.covered),
            uncovered=len(cov.uncovered),
            drifted=len(cov.drifted),
            weak=len(cov.weak),
        )
    return out


def predicate(verdict: AuditVerdict) -> dict[str, Any]:
    """The AUDIT_V1 predicate."""
    main = _primary(verdict)
    tools = {"nebsign": __version__}
    for audit in verdict.audits:
        tools.update(audit.tools)
    auditors = list(dict.fromkeys(a.auditor for a in verdict.audits))
    cov = verdict.coverage
    return {
        **verdict_predicate(
            passed=verdict.passed,
            reason=verdict.reason(),
            policy_digest=verdict.policy_digest,
            tools=tools,
            counts=counts(verdict),
            findings=verdict.findings,
        ),
        "auditor": "; ".join(auditors),
        "report": {
            "title": main.report_title if main else "",
            "url": main.report_url if main else "",
        },
        "dates": {
            "audit": main.audit_date.isoformat() if main and main.audit_date else None,
            "fix_review": (
                main.fix_review_date.isoformat() if main and main.fix_review_date else None
            ),
        },
        "repository": main.repository if main else "",
        "commit": main.commit if main else "",
        "scope": _scope(verdict),
        "coverage": cov.to_dict(verdict.open_findings) if cov is not None else None,
        "sources": [a.summary() for a in verdict.audits],
        "notes": list(verdict.notes),
    }


def subjects(verdict: AuditVerdict, manifest: tuple[str, str] | None = None) -> tuple[Subject, ...]:
    """Scope files (path, SHA-256), plus the release manifest (name, digest) that
    ``audit check`` judged, so a host's ``[[require]]`` can find the statement."""
    strong = sorted({(e.path, e.digest) for a in verdict.audits for e in a.scope if not e.weak})
    out = [Subject(p, d) for p, d in strong]
    if manifest is not None:
        out.append(Subject(*manifest))
    if not out:
        raise InputError(
            "nothing to attest about: no audit scope has a SHA-256 and no --manifest was given"
        )
    return tuple(out)


def statement(verdict: AuditVerdict, manifest: tuple[str, str] | None = None) -> Statement:
    """The in-toto statement (sign it with :func:`nebsign.signing.sign_statement`)."""
    return Statement(subjects(verdict, manifest), PREDICATE_TYPE, predicate(verdict))


def result_dict(verdict: AuditVerdict, manifest: tuple[str, str] | None = None) -> dict[str, Any]:
    """``--format json``: the predicate plus its subjects."""
    try:
        subject = [{"name": n, "digest": {"sha256": d}} for n, d in subjects(verdict, manifest)]
    except InputError:
        subject = []
    return {
        "schema": RESULT_SCHEMA,
        "predicate_type": PREDICATE_TYPE,
        "subject": subject,
        **predicate(verdict),
    }


def sarif_log(verdict: AuditVerdict) -> dict[str, Any]:
    """SARIF 2.1.0 of every finding (fixed ones included, with their status)."""
    tools = {"nebsign": __version__}
    for audit in verdict.audits:
        tools.update(audit.tools)
    return to_sarif(
        verdict.findings, tools=tools, driver_version=__version__, automation_id="nebsign/audit/"
    )


_KINDS = {
    "nebsign": "audit file",
    "slither": "Slither JSON",
    "sarif": "SARIF",
    "contest": "contest report",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(text: object, limit: int = 200) -> str:
    """One printable line: control and bidi characters escaped, long text cut."""
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _label(f: Finding) -> str:
    sev = f.properties.get("original_severity")
    status = f.properties.get("original_status")
    parts = [f"{clean(sev, 40)} -> {f.severity.value}" if sev else f.severity.value]
    parts.append(f"{clean(status, 40)} -> {f.status.value}" if status else f.status.value)
    return "; ".join(parts)


def format_text(verdict: AuditVerdict) -> str:
    """The terminal summary: audits, findings by severity and status, coverage, verdict."""
    lines = []
    for audit in verdict.audits:
        when = f", {audit.audit_date.isoformat()}" if audit.audit_date else ""
        title = f": {clean(audit.report_title, 80)}" if audit.report_title else ""
        kind = _KINDS.get(audit.kind, audit.kind)
        lines.append(
            f"{clean(audit.auditor, 80)} [{kind}]{title}{when} "
            f"({len(audit.findings)} finding(s), {len(audit.scope)} file(s) in scope)"
        )
    lines.extend(f"note: {clean(n)}" for n in verdict.notes)
    lines.append("")
    heads = [s.value for s in Status]
    lines.append(f"{'severity':<9} {'total':>5}  " + "  ".join(heads))
    for sev in Severity:
        group = [f for f in verdict.findings if f.severity is sev]
        if not group:
            continue
        c = Counter(f.status for f in group)
        cells = "  ".join(f"{c.get(s, 0):>{len(s.value)}}" for s in Status)
        lines.append(f"{sev.value:<9} {len(group):>5}  {cells}")
    unfixed = [f for f in verdict.findings if f.status is not Status.FIXED]
    if unfixed:
        lines.append("")
        lines.append(f"not fixed ({len(unfixed)}):")
        for f in sorted(unfixed, key=lambda f: (-f.severity.rank, f.sort_key())):
            level = str(f.properties.get("level", ""))
            lines.append(
                f"  {level:<4} [{clean(f.rule_id, 64)}] {clean(f.title, 100)}  "
                f"({_label(f)})  {clean(f.location, 120)}"
            )
    cov = verdict.coverage
    if cov is not None:
        lines.append("")
        lines.append(
            f"coverage: {len(cov.covered)} of {cov.required} required file(s) ship audited bytes"
        )
        lines.extend(f"  UNCOVERED {clean(p, 300)}" for p in cov.uncovered)
        for d in cov.drifted:
            lines.append(
                f"  DRIFTED   {clean(d.path, 300)} (audited {d.audited[:19]}..., "
                f"released {d.released[:12]}...)"
            )
        for w in cov.weak:
            state = {True: "matches", False: "differs", None: "not checked"}[w.matched]
            lines.append(f"  WEAK      {clean(w.path, 300)} (SHA-1 only, {state})")
    word = "PASS" if verdict.passed else "FAIL"
    lines.append("")
    lines.append(f"verdict: {word} ({verdict.reason()})")
    return "\n".join(lines) + "\n"
