"""A DAST verdict as the DAST_V1 predicate, ``--format json`` output and terminal text.

The predicate follows the shared convention (verdict, reason, policy_digest,
tools, counts, findings, findings_digest) plus ``target``, ``coverage`` and
``anomalies``. The subject is ``dast-target:<origin>`` with the SHA-256 of the
canonical JSON of the scan configuration (no secrets in it), or a release
manifest when one is given.
"""

from __future__ import annotations

import re
from typing import Any

from nebsign import __version__
from nebsign._internal.canonical import canonical_json
from nebsign.attest import DAST_V1, Statement, Subject
from nebsign.dast.policy import DastVerdict
from nebsign.digest import sha256_bytes
from nebsign.findings import Finding, Severity, Status, verdict_predicate
from nebsign.sarif import to_sarif

__all__ = [
    "PREDICATE_TYPE",
    "RESULT_SCHEMA",
    "format_text",
    "predicate",
    "result_dict",
    "sarif_log",
    "statement",
    "subject",
]

RESULT_SCHEMA = "https://nebsign.dev/dast-result/v1"
PREDICATE_TYPE = DAST_V1
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe(text: object, limit: int = 300) -> str:
    """One printable line: control and bidi characters escaped, clipped."""
    s = str(text)
    s = _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 256 else f"\\u{ord(m.group(0)):04x}"
        ),
        s,
    )
    return s if len(s) <= limit else s[:limit] + "…"


def tools() -> dict[str, str]:
    import httpx

    return {"nebsign": __version__, "nebsign-dast": __version__, "httpx": httpx.__version__}


def sarif_log(verdict: DastVerdict) -> dict[str, Any]:
    """SARIF 2.1.0 of every finding (the URL is each result's location)."""
    versions = tools()
    return to_sarif(
        verdict.findings,
        tools=versions,
        driver_version=versions["nebsign"],
        automation_id="nebsign/dast/",
    )


def predicate(verdict: DastVerdict) -> dict[str, Any]:
    """The DAST_V1 predicate (also the core of the JSON result)."""
    out = verdict.outcome
    pred: dict[str, Any] = {
        **verdict_predicate(
            passed=verdict.passed,
            reason=verdict.reason(),
            policy_digest=verdict.policy_digest,
            tools=tools(),
            counts=verdict.counts(),
            findings=verdict.findings,
        ),
        "target": out.origins,
        "coverage": out.coverage(),
        "anomalies": out.anomalies,
        "left_scope": out.left_scope,
        "config": out.config,
        "baseline_fixed": list(verdict.fixed),
    }
    if out.browser is not None:
        pred["browser"] = out.browser
    return pred


def config_digest(verdict: DastVerdict) -> str:
    return sha256_bytes(canonical_json(verdict.outcome.config))


def subject(verdict: DastVerdict, manifest: tuple[str, str] | None = None) -> Subject:
    """``dast-target:<origin>`` + config digest, or (name, sha256) of a release manifest."""
    if manifest is not None:
        return Subject(*manifest)
    return Subject(f"dast-target:{verdict.outcome.origins[0]}", config_digest(verdict))


def statement(verdict: DastVerdict, manifest: tuple[str, str] | None = None) -> Statement:
    return Statement(
        subjects=(subject(verdict, manifest),),
        predicate_type=PREDICATE_TYPE,
        predicate=predicate(verdict),
    )


def result_dict(verdict: DastVerdict, manifest: tuple[str, str] | None = None) -> dict[str, Any]:
    sub = subject(verdict, manifest)
    return {
        "schema": RESULT_SCHEMA,
        "predicate_type": PREDICATE_TYPE,
        "subject": {"name": sub.name, "digest": {"sha256": sub.sha256}},
        "elapsed_seconds": round(verdict.outcome.elapsed, 3),
        **predicate(verdict),
    }


def _xss_note(f: Finding) -> str:
    if "browser_confirmed" not in f.properties:
        return ""
    if f.properties["browser_confirmed"] is None:
        return " (unconfirmed: run with --browser)"
    return " (confirmed in Chromium)"


def format_text(verdict: DastVerdict) -> str:
    """The terminal summary: findings by severity, coverage, anomalies, the verdict."""
    out = verdict.outcome
    lines = [
        f"nebsign DAST: {safe(', '.join(out.origins))}: {out.requests} request(s), "
        f"{len(out.endpoints)} endpoint(s), {out.elapsed:.1f} s"
    ]
    shown = [f for f in verdict.findings if f.status is Status.OPEN]
    for severity in Severity:
        group = [f for f in shown if f.severity is severity]
        if not group:
            continue
        lines += ["", f"{severity.value.upper()} ({len(group)})"]
        for f in sorted(group, key=Finding.sort_key):
            level = str(f.properties.get("level", ""))
            lines.append(f"  {level:<4}  {safe(f.location)}  {f.rule_id}{_xss_note(f)}")
            lines.append(f"        {safe(f.title)}: {safe(f.message)}")
            if "curl" in f.properties:
                lines.append(f"        reproduce: {safe(f.properties['curl'], 400)}")
            for link in f.properties.get("sast_links", []):
                lines.append(
                    f"        proven twice: SAST {safe(link['rule_id'])} at "
                    f"{safe(link['path'])}:{link['line']}"
                )
    accepted = [f for f in verdict.findings if f.status is not Status.OPEN]
    if accepted:
        lines += ["", f"accepted by the baseline ({len(accepted)}):"]
        lines += [f"  {safe(f.location)}  {f.rule_id}  {f.status.value}" for f in accepted]
    if out.anomalies:
        lines += ["", f"server errors caused by probes ({len(out.anomalies)}, not findings):"]
        lines += [
            f"  HTTP {a['status']}  {a['method']} {safe(a['url'])}  (by {a['check']})"
            for a in out.anomalies[:20]
        ]
    if out.left_scope:
        lines += ["", f"out of scope, recorded and not requested ({len(out.left_scope)}):"]
        lines += [f"  {safe(u)}" for u in out.left_scope[:10]]
    if out.not_covered_total:
        lines += ["", f"not covered within the budget ({out.not_covered_total}):"]
        lines += [f"  {safe(n)}" for n in out.not_covered[:10]]
    counts = verdict.counts()
    lines += [
        "",
        f"active findings: {counts['active']}; passive: {counts['passive']}; "
        f"ignored by policy: {counts['ignored_by_policy']}",
        f"verdict: {'PASS' if verdict.passed else 'FAIL'} ({verdict.reason()})",
    ]
    return "\n".join(lines) + "\n"
