"""The [dast] policy: levels per severity, rule and URL pattern (with expiry), baseline, gates."""

from __future__ import annotations

from datetime import date

import pytest

from nebsign.dast.evidence import dast_fingerprint
from nebsign.dast.policy import DastPolicy
from nebsign.dast.scan import ScanOutcome
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source, Status
from nebsign.policy.levels import Level
from nebsign.sast.baseline import Baseline, place

TODAY = date(2026, 6, 1)


def _finding(rule: str, url: str, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        source=Source.DAST,
        tool="nebsign-dast",
        rule_id=rule,
        severity=severity,
        confidence=Confidence.HIGH,
        title=rule,
        message=rule,
        location=Location(url=url, parameter="q", method="GET"),
        fingerprint=dast_fingerprint(rule, "GET", url, "q"),
        properties={"kind": "active"},
    )


def _outcome(*findings: Finding, anomalies: int = 0, not_covered: int = 0) -> ScanOutcome:
    return ScanOutcome(
        target="http://127.0.0.1:1/",
        origins=["http://127.0.0.1:1"],
        findings=list(findings),
        anomalies=[{"status": 500}] * anomalies,
        requests=1,
        endpoints=[],
        not_covered=["x"] * not_covered,
        not_covered_total=not_covered,
        left_scope=[],
        refused=0,
        elapsed=0.0,
        config={},
    )


POLICY = b"""
[dast]
anomalies = "FAIL"
[dast.severity]
high = "FAIL"
low = "WARN"
[dast.rules]
open-redirect = "WARN"
[[dast.urls]]
globs = ["/legacy/*"]
level = "INFO"
until = 2026-12-31
[[dast.urls]]
globs = ["/legacy/admin"]
rules = { xss-reflected = "FAIL" }
[[dast.urls]]
globs = ["/old/*"]
level = "IGNORE"
until = 2026-01-01
"""


def test_levels_follow_severity_rule_and_url_with_expiry() -> None:
    policy = DastPolicy.from_toml(POLICY)
    lv = lambda rule, url: policy.level_for(_finding(rule, url), TODAY)  # noqa: E731
    assert lv("sqli-error", "http://h/app") is Level.FAIL
    assert lv("open-redirect", "http://h/app") is Level.WARN
    assert lv("sqli-error", "http://h/legacy/x") is Level.INFO
    assert lv("xss-reflected", "http://h/legacy/admin") is Level.FAIL
    assert lv("sqli-error", "http://h/old/x") is Level.FAIL  # the override expired
    later = date(2027, 1, 1)
    assert policy.level_for(_finding("sqli-error", "http://h/legacy/x"), later) is Level.FAIL


def test_verdict_baseline_anomalies_and_incomplete() -> None:
    policy = DastPolicy.from_toml(POLICY)
    bad = _finding("sqli-error", "http://h/app")
    verdict = policy.evaluate(_outcome(bad), None, TODAY)
    assert not verdict.passed and "1 finding(s) at level FAIL" in verdict.reason()
    baseline = Baseline.from_toml(
        f'[[finding]]\nfingerprint = "{bad.fingerprint}"\nrule = "sqli-error"\n'
        f'path = "{place(bad)}"\nwho = "a@b"\nwhy = "waf"\nuntil = 2026-12-31\n'.encode()
    )
    accepted = policy.evaluate(_outcome(bad), baseline, TODAY)
    assert accepted.passed and accepted.findings[0].status is Status.ACCEPTED_RISK
    expired = policy.evaluate(_outcome(bad), baseline, date(2027, 1, 2))
    assert not expired.passed
    noisy = policy.evaluate(_outcome(anomalies=2), None, TODAY)
    assert not noisy.passed and "server error(s)" in noisy.reason()
    cut = DastPolicy.from_toml(b"[dast]\nincomplete = 'FAIL'\n").evaluate(
        _outcome(not_covered=3), None, TODAY
    )
    assert not cut.passed and "not run within the budget" in cut.reason()
    assert DastPolicy.from_toml(b"[dast]\n").evaluate(_outcome(not_covered=3), None, TODAY).passed


def test_ignored_findings_are_dropped_and_counted() -> None:
    policy = DastPolicy.from_toml(b"[dast.rules]\nclickjacking = 'IGNORE'\n")
    verdict = policy.evaluate(_outcome(_finding("clickjacking", "http://h/")), None, TODAY)
    assert verdict.findings == () and verdict.counts()["ignored_by_policy"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"[sast]\n",
        b"[dast]\nbogus = 1\n",
        b"[dast.severity]\nhigh = 'LOUD'\n",
        b"[dast.severity]\nsevere = 'FAIL'\n",
        b"[dast]\nchecks = ['nope']\n",
        b"[dast]\nmax_requests = 0\n",
        b"[[dast.urls]]\nglobs = 'x'\n",
        b"[[dast.urls]]\nglobs = ['/x']\nuntil = 'soon'\n",
        b"[dast]\ntime_budget = true\n",
    ],
)
def test_malformed_policies_are_input_errors(raw: bytes) -> None:
    with pytest.raises(InputError):
        DastPolicy.from_toml(raw)


def test_bundled_default_policy_has_a_dast_table() -> None:
    from nebsign.dast.gate import load_dast_policy

    policy = load_dast_policy(None)
    assert policy.max_requests == 5000 and "/logout" in policy.exclude
