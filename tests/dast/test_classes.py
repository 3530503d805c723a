"""Every weakness class is found on the vulnerable app; the hardened twin gives zero findings."""

from __future__ import annotations

from dast.conftest import SPEC, cpu_load

from nebsign.dast.checks import REGISTRY
from nebsign.dast.gate import DastRequest, scan_dast
from nebsign.dast.policy import DastVerdict

PASSIVE = {
    "clickjacking",
    "missing-csp",
    "missing-x-content-type-options",
    "cookie-no-httponly",
    "cookie-no-samesite",
    "version-banner",
    "stack-trace",
    "sql-error-disclosure",
    "full-path-disclosure",
    "directory-listing",
}


def _where(verdict: DastVerdict, rule: str) -> set[str]:
    return {
        f"{f.location.method} {f.location.url.split('/', 3)[-1]} {f.location.parameter}"
        for f in verdict.findings
        if f.rule_id == rule and f.location.url
    }


def test_every_active_class_is_found_on_the_vulnerable_app(vuln_verdict: DastVerdict) -> None:
    found = {f.rule_id for f in vuln_verdict.findings}
    assert set(REGISTRY) - found == set(), sorted(set(REGISTRY) - found)
    assert PASSIVE - found == set()
    assert not vuln_verdict.passed
    assert vuln_verdict.outcome.not_covered_total == 0


def test_each_class_is_found_where_the_app_has_it(vuln_verdict: DastVerdict) -> None:
    w = lambda rule: _where(vuln_verdict, rule)  # noqa: E731
    assert {"GET search q", "GET profile name", "GET greet who", "GET link url"} <= w(
        "xss-reflected"
    )
    assert "POST guestbook comment" in w("xss-stored")
    assert "GET dom #fragment" in w("xss-dom")
    assert "GET item id" in w("sqli-error")
    assert "GET product name" in w("sqli-boolean")
    assert "GET product name" in w("sqli-union")
    assert "GET track id" in w("sqli-time")
    assert "POST login username" in w("login-bypass-sqli")
    assert "GET ping host" in w("command-injection")
    assert "GET file name" in w("path-traversal")
    assert "GET go next" in w("open-redirect")
    assert "GET lang set" in w("crlf-injection")
    assert "GET hello name" in w("ssti")
    assert "POST xml doc" in w("xxe")
    assert "GET xpath user" in w("xpath-injection")
    assert "GET jsonp callback" in w("jsonp-callback")
    assert "GET fetch url" in w("ssrf")
    assert "GET share page" in w("http-parameter-pollution")
    assert "POST transfer None" in w("csrf")
    assert "GET api/v1/admin/users None" in w("unauthenticated-access")
    assert "GET api/v1/items id" in w("sqli-error")  # reachable only through the OpenAPI spec


def test_findings_carry_evidence_and_a_reproducible_curl(vuln_verdict: DastVerdict) -> None:
    f = next(f for f in vuln_verdict.findings if f.rule_id == "command-injection")
    props = f.properties
    assert props["curl"].startswith("curl -sS -i ") and "/ping?host=" in props["curl"]
    assert props["payload"] and props["evidence"] and f.snippet
    assert f.location.method == "GET" and f.location.parameter == "host"
    assert len(f.fingerprint) == 64
    timing = next(f for f in vuln_verdict.findings if f.rule_id == "sqli-time")
    assert "zero-delay controls" in timing.properties["timing"]


def test_probe_caused_server_errors_are_anomalies_not_findings(vuln_verdict: DastVerdict) -> None:
    anomalies = vuln_verdict.outcome.anomalies
    assert anomalies and all(a["status"] >= 500 for a in anomalies)
    assert any(a["url"].endswith("/item") for a in anomalies)


def test_hardened_twin_has_zero_findings_under_cpu_load(twin_url: str) -> None:
    with cpu_load():
        verdict = scan_dast(DastRequest(target=twin_url + "/", openapi=SPEC, time_budget=240))
    active = [f for f in verdict.findings if f.properties.get("kind") == "active"]
    assert active == [], [(f.rule_id, str(f.location)) for f in active]
    assert list(verdict.findings) == [], [(f.rule_id, str(f.location)) for f in verdict.findings]
    assert verdict.passed and verdict.outcome.anomalies == []
    assert verdict.outcome.not_covered_total == 0
    assert verdict.outcome.requests > 500  # it really probed
