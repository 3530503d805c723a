"""The [sast] policy: levels by severity, rule and path; parsing untrusted TOML."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sast.sastkit import default_policy

from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source
from nebsign.manifest import Manifest
from nebsign.outcome import ScanError, ScanOutcome, Suppressed
from nebsign.policy.sast import Level, SastGateFailed, SastPolicy


def _f(rule: str, severity: Severity, path: str = "svc/app.py", line: int = 3) -> Finding:
    return Finding(
        source=Source.SAST,
        tool="semgrep",
        rule_id=rule,
        severity=severity,
        confidence=Confidence.HIGH,
        title=rule,
        message=rule,
        location=Location(path=path, line=line),
        fingerprint=f"{abs(hash((rule, path))):064x}"[:64],
    )


def _outcome(findings: list[Finding], errors: tuple[ScanError, ...] = ()) -> ScanOutcome:
    return ScanOutcome(
        findings=tuple(findings),
        suppressed=(Suppressed("bandit", "B602", "a.py", 1, "# nosec"),),
        errors=errors,
        tools={"bandit": "1.9.4", "semgrep": "1.185.0"},
        configs={},
        manifest=Manifest(files=()),
        files=("svc/app.py",),
    )


POLICY = b"""
[sast]
exclude = ["vendor/"]
[sast.severity]
critical = "FAIL"
high = "FAIL"
medium = "WARN"
low = "INFO"
info = "IGNORE"
[sast.rules]
weak-hash = "FAIL"
bind-all-interfaces = "IGNORE"
[[sast.paths]]
globs = ["tests/"]
level = "INFO"
[[sast.paths]]
globs = ["tests/security/*"]
rules = { weak-hash = "FAIL" }
"""


def test_levels_by_severity_rule_and_path() -> None:
    policy = SastPolicy.from_toml(POLICY)
    assert policy.level_for(_f("x", Severity.HIGH)) is Level.FAIL
    assert policy.level_for(_f("x", Severity.MEDIUM)) is Level.WARN
    assert policy.level_for(_f("x", Severity.INFO)) is Level.IGNORE
    assert policy.level_for(_f("weak-hash", Severity.MEDIUM)) is Level.FAIL
    assert policy.level_for(_f("bind-all-interfaces", Severity.HIGH)) is Level.IGNORE
    assert policy.level_for(_f("x", Severity.CRITICAL, "tests/test_a.py")) is Level.INFO
    assert policy.level_for(_f("weak-hash", Severity.MEDIUM, "tests/security/t.py")) is Level.FAIL
    assert policy.level_for(_f("weak-hash", Severity.MEDIUM, "tests/unit/t.py")) is Level.INFO
    assert policy.selects("svc/app.py") and not policy.selects("vendor/lib/x.py")
    assert not policy.selects("README.md")


def test_verdict_fails_only_on_fail_level_and_hides_ignored() -> None:
    policy = SastPolicy.from_toml(POLICY)
    passing = policy.evaluate(
        _outcome([_f("a", Severity.MEDIUM), _f("b", Severity.INFO)]), None, date(2026, 1, 1)
    )
    assert passing.passed
    assert passing.ignored == 1
    assert [f.rule_id for f in passing.findings] == ["a"]
    policy.verify(passing)
    failing = policy.evaluate(_outcome([_f("c", Severity.HIGH)]), None, date(2026, 1, 1))
    assert not failing.passed and [f.rule_id for f in failing.failing] == ["c"]
    with pytest.raises(SastGateFailed) as info:
        policy.verify(failing)
    assert info.value.exit_code == 1
    counts = failing.counts()
    assert counts["suppressed_inline"] == {"bandit": 1, "semgrep": 0}
    assert counts["failing"] == 1 and counts["open"]["high"] == 1


def test_scanner_errors_fail_by_default() -> None:
    err = (ScanError("semgrep", "svc/app.py", "timed out after 30 s"),)
    verdict = default_policy().evaluate(_outcome([], err), None, date(2026, 1, 1))
    assert not verdict.passed and "could not be scanned" in verdict.reason()
    lenient = SastPolicy.from_toml(b'[sast]\nscanner_errors = "WARN"\n')
    assert lenient.evaluate(_outcome([], err), None, date(2026, 1, 1)).passed


def test_default_policy_parses_and_digest_is_recorded() -> None:
    policy = default_policy()
    assert policy.digest.startswith("sha256:") and len(policy.digest) == 71
    assert policy.scanners == ("bandit", "semgrep") and policy.semgrep_engine == "native"


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"[other]\n",
        b"[sast]\nunknown = 1\n",
        b'[sast]\nscanners = ["flake8"]\n',
        b"[sast]\nscanners = []\n",
        b'[sast.severity]\nhigh = "MAYBE"\n',
        b'[sast.severity]\nsevere = "FAIL"\n',
        b"[sast]\nper_file_timeout = -1\n",
        b'[sast]\nsemgrep_engine = "cloud"\n',
        b"[[sast.paths]]\nlevel = 'INFO'\n",
        b"[[sast.paths]]\nglobs = ['a']\nextra = 1\n",
        b"[sast]\nbaseline = '../../etc/passwd'\n",
        b"[sast]\nbaseline = '/etc/passwd'\n",
        b"[sast\n",
        b"\xff\xfe",
    ],
)
def test_bad_policies_are_input_errors(text: bytes) -> None:
    with pytest.raises(InputError):
        SastPolicy.from_toml(text)


_value = st.recursive(
    st.booleans()
    | st.integers(-10, 4000)
    | st.text(max_size=10)
    | st.sampled_from(["FAIL", "WARN", "INFO", "IGNORE", "high", "native"]),
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.dictionaries(
            st.sampled_from(["globs", "level", "severity", "rules", "high", "low", "x"]),
            kids,
            max_size=3,
        )
    ),
    max_leaves=10,
)


def _toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"


@settings(max_examples=200, deadline=None)
@given(
    table=st.dictionaries(
        st.sampled_from(
            [
                "scanners",
                "include",
                "exclude",
                "severity",
                "rules",
                "paths",
                "scanner_errors",
                "per_file_timeout",
                "semgrep_engine",
                "baseline",
            ]
        ),
        _value,
        max_size=4,
    )
)
def test_untrusted_policy_never_crashes(table: dict) -> None:
    text = "[sast]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
    try:
        policy = SastPolicy.from_toml(text.encode())
    except InputError:
        return
    policy.level_for(_f("x", Severity.HIGH))
