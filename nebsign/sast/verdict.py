"""A SAST verdict as JSON (the attestation predicate), as terminal text, as a statement.

:func:`result_dict` carries everything the signed statement needs: verdict,
policy digest, tool versions and rule digests, the findings and their digest,
counts, and the subject (the digest of the manifest of the scanned files).
It is deterministic: cache statistics and timings are never part of it, so a
warm scan's JSON is byte-identical to a cold scan's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebsign import __version__
from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.findings import Finding, Severity, Status, verdict_predicate
from nebsign.policy.sast import SastVerdict
from nebsign.sarif import to_sarif

__all__ = [
    "PREDICATE_TYPE",
    "RESULT_SCHEMA",
    "SUBJECT_NAME",
    "format_text",
    "predicate",
    "result_dict",
    "sarif_log",
    "statement",
]

RESULT_SCHEMA = "https://nebsign.dev/sast-result/v1"
PREDICATE_TYPE = SAST_V1
SUBJECT_NAME = "sast-scanned-files.manifest.json"


def predicate(verdict: SastVerdict) -> dict[str, Any]:
    """The predicate of the SAST statement (also the core of the JSON result)."""
    outcome = verdict.outcome
    return {
        **verdict_predicate(
            passed=verdict.passed,
            reason=verdict.reason(),
            policy_digest=verdict.policy_digest,
            tools={"nebsign": __version__, **dict(outcome.tools)},
            counts=verdict.counts(),
            findings=verdict.findings,
        ),
        "rules_digests": {k: f"sha256:{v}" for k, v in sorted(outcome.configs.items())},
        "suppressed": [s.to_dict() for s in outcome.suppressed],
        "baseline_fixed": [e.to_dict() for e in verdict.fixed],
        "errors": [e.to_dict() for e in outcome.errors],
        # what the verdict is about, file by file (nebsign.scancoverage checks a release)
        "scanned": {e.path: f"sha256:{e.sha256}" for e in outcome.manifest.files},
        "not_python": {e.path: f"sha256:{e.sha256}" for e in outcome.not_python},
    }


def subject(verdict: SastVerdict) -> dict[str, Any]:
    """The in-toto subject: the manifest of exactly the files scanned."""
    return {"name": SUBJECT_NAME, "digest": {"sha256": verdict.outcome.manifest.digest()}}


def result_dict(verdict: SastVerdict) -> dict[str, Any]:
    """``--format json`` output: the predicate plus its subject."""
    return {
        "schema": RESULT_SCHEMA,
        "predicate_type": PREDICATE_TYPE,
        "subject": subject(verdict),
        **predicate(verdict),
    }


def statement(verdict: SastVerdict) -> Statement:
    """The in-toto Statement v1 about the scanned files' manifest (sign it to attest)."""
    return Statement(
        subjects=(Subject(SUBJECT_NAME, verdict.outcome.manifest.digest()),),
        predicate_type=PREDICATE_TYPE,
        predicate=predicate(verdict),
    )


def sarif_log(verdict: SastVerdict) -> dict[str, Any]:
    """SARIF 2.1.0 of every finding (GitHub code scanning upload-ready)."""
    return to_sarif(verdict.findings, tools=verdict.outcome.tools, driver_version=__version__)


def _tools_line(tools: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(tools.items()))


def _describe(finding: Finding) -> str:
    tool = finding.tool
    also = finding.properties.get("also_reported_by") or []
    if also:
        tool += ", also " + ", ".join(f"{a['tool']} {a['rule_id']}" for a in also)
    return f"{finding.location}  {finding.rule_id} [{tool}]"


def format_text(
    verdict: SastVerdict, *, cache_line: str = "", baseline_written: str | None = None
) -> str:
    """The terminal summary: findings grouped by severity, counts, the verdict.

    With *baseline_written* (its path), the last line names the baseline that now
    accepts these findings instead of the verdict (no "verdict: FAIL" before exit 0).
    """
    outcome = verdict.outcome
    lines = [f"nebsign SAST: {len(outcome.files)} file(s); {_tools_line(outcome.tools)}"]
    if cache_line:
        lines.append(cache_line)
    shown = [f for f in verdict.findings if f.status is Status.OPEN]
    for severity in Severity:
        group = [f for f in shown if f.severity is severity]
        if not group:
            continue
        lines.append("")
        lines.append(f"{severity.value.upper()} ({len(group)})")
        for f in sorted(group, key=Finding.sort_key):
            level = str(f.properties.get("level", ""))
            expired = (
                " (baseline acceptance EXPIRED)" if "acceptance_expired" in f.properties else ""
            )
            lines.append(f"  {level:<4}  {_describe(f)}{expired}")
            lines.append(f"        {f.title}: {f.message}")
            if f.recommendation:
                lines.append(f"        fix: {f.recommendation}")
            if f.cwe:
                lines.append(f"        {', '.join(f.cwe)}  fingerprint {f.fingerprint[:16]}")
    accepted = [f for f in verdict.findings if f.status is not Status.OPEN]
    if accepted:
        lines.append("")
        lines.append(f"accepted by the baseline ({len(accepted)}):")
        for f in accepted:
            note = f.status_note
            until = f" until {note.until.isoformat()}" if note and note.until else ""
            who = f" by {note.who}{until}: {note.why}" if note else ""
            lines.append(f"  {_describe(f)}  {f.status.value}{who}")
    if verdict.fixed:
        lines.append("")
        lines.append(f"baseline entries no longer found, now fixed ({len(verdict.fixed)}):")
        lines.extend(f"  {e.path}  {e.rule}  {e.fingerprint[:16]}" for e in verdict.fixed)
    if outcome.errors:
        lines.append("")
        lines.append(f"scanner errors ({len(outcome.errors)}):")
        lines.extend(f"  {e.path or '-'}  [{e.tool}] {e.message}" for e in outcome.errors)
    counts = verdict.counts()
    suppressed = counts["suppressed_inline"]
    comment = {"bandit": "# nosec", "semgrep": "# nosemgrep"}
    lines.append("")
    lines.append(
        "suppressed inline: "
        + (", ".join(f"{n} by {comment.get(t, t)}" for t, n in suppressed.items()) or "none")
        + f"; ignored by policy: {counts['ignored_by_policy']}"
    )
    if baseline_written is not None:
        lines.append(f"baseline written: {baseline_written}")
    else:
        verdict_word = "PASS" if verdict.passed else "FAIL"
        lines.append(f"verdict: {verdict_word} ({verdict.reason()})")
    return "\n".join(lines) + "\n"
