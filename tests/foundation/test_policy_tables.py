"""The findings policy tables ``[sast]``, ``[dast]`` and ``[audit]``: any value in any key
is a policy or an InputError (exit 2), never another exception; the three share one
level evaluation (``policy/levels.py``) with their own defaults."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nebsign.audit.policy import AuditPolicy
from nebsign.dast.policy import DastPolicy
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source
from nebsign.policy.levels import Level
from nebsign.policy.sast import SastPolicy

KEYS = {
    "sast": ["scanners", "include", "exclude", "severity", "rules", "paths", "scanner_errors",
             "per_file_timeout", "semgrep_engine", "baseline", "suppression_reason_required"],
    "dast": ["severity", "rules", "urls", "anomalies", "incomplete", "exclude", "checks",
             "baseline", "max_requests", "time_budget", "concurrency", "rate", "timeout",
             "max_pages"],
    "audit": ["required", "fail_on", "accept_sha1", "accept_acknowledged", "severity", "rules",
              "scan"],
}  # fmt: skip
PARSERS: dict[str, Any] = {
    "sast": SastPolicy.from_toml,
    "dast": DastPolicy.from_toml,
    "audit": AuditPolicy.from_toml,
}

values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.dates()
    | st.sampled_from(["FAIL", "WARN", "xss-dom", "high", "open", "a/", "/x"]),
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.dictionaries(
            st.sampled_from(["globs", "level", "severity", "rules", "until", "high", "timeout"]),
            kids,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


def _finding(rule: str, severity: Severity, path: str = "a.py") -> Finding:
    return Finding(
        source=Source.SAST,
        tool="t",
        rule_id=rule,
        severity=severity,
        confidence=Confidence.HIGH,
        title=rule,
        message=rule,
        location=Location(path=path, url=f"http://127.0.0.1/{path}"),
    )


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=150, deadline=None)
@example(table={"checks": [[1]]})
@example(table={"checks": [{"high": 1}]})
@example(table={"fail_on": [[1]]})
@example(table={"scanners": [[1]]})
@given(table=st.dictionaries(st.sampled_from(sorted({k for ks in KEYS.values() for k in ks})),
                             values, max_size=4))  # fmt: skip
def test_any_table_is_a_policy_or_an_input_error(name: str, table: dict[str, Any]) -> None:
    text = f"[{name}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items())
    try:
        policy = PARSERS[name](text.encode())
    except InputError as exc:
        assert exc.exit_code == 2
        return
    finding = _finding("r", Severity.HIGH)
    level = (
        policy.level_for(finding, date(2026, 1, 1)) if name == "dast" else policy.level_for(finding)
    )
    assert isinstance(level, Level)


def test_dast_checks_of_another_type_is_an_input_error() -> None:
    """Found by the property above: an unhashable check name raised TypeError (a traceback)."""
    with pytest.raises(InputError, match=r"\[dast\]\.checks"):
        DastPolicy.from_toml(b"[dast]\nchecks = [[1]]\n")


def test_each_table_keeps_its_defaults_and_the_shared_precedence() -> None:
    sast = SastPolicy.from_toml(
        b'[sast.rules]\nr = "WARN"\n[[sast.paths]]\nglobs = ["t/"]\nlevel = "INFO"\n'
        b'rules = { r = "FAIL" }\n'
    )
    dast = DastPolicy.from_toml(
        b'[dast.rules]\nr = "WARN"\n[[dast.urls]]\nglobs = ["/t/*"]\nlevel = "INFO"\n'
        b'rules = { r = "FAIL" }\n'
    )
    audit = AuditPolicy.from_toml(b'[audit]\n[audit.rules]\nr = "WARN"\n')
    day = date(2026, 1, 1)
    # every severity FAIL by default for SAST and DAST; the audit table's own defaults
    assert sast.level_for(_finding("x", Severity.LOW)) is Level.FAIL
    assert dast.level_for(_finding("x", Severity.LOW), day) is Level.FAIL
    assert audit.level_for(_finding("x", Severity.LOW)) is Level.WARN
    assert audit.level_for(_finding("x", Severity.INFO)) is Level.INFO
    # rule > severity; scope+rule > scope blanket > rule
    assert sast.level_for(_finding("r", Severity.HIGH)) is Level.WARN
    assert audit.level_for(_finding("r", Severity.CRITICAL)) is Level.WARN
    assert sast.level_for(_finding("x", Severity.HIGH, "t/a.py")) is Level.INFO
    assert sast.level_for(_finding("r", Severity.HIGH, "t/a.py")) is Level.FAIL
    assert dast.level_for(_finding("x", Severity.HIGH, "t/a"), day) is Level.INFO
    assert dast.level_for(_finding("r", Severity.HIGH, "t/a"), day) is Level.FAIL


def test_sast_path_rules_take_no_end_date() -> None:
    with pytest.raises(InputError, match="paths"):
        SastPolicy.from_toml(b'[[sast.paths]]\nglobs = ["a"]\nuntil = 2026-01-01\n')
