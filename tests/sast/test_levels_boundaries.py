"""In-process boundaries of the SAST level decision (issue 15 item 1, docs/mutants.md).

Mutation testing runs only in-process tests against mutants; each test here pins one
decision of ``nebsign.policy.sast`` and the shared ``nebsign.policy.levels`` at its
edge: which override's table wins for which severity, the day an override ends,
``**/dir/`` globs, the timeout's bounds, what a verdict counts and says, and the full
text of every refusal of a malformed ``[sast]`` table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from nebsign.baseline import Baseline, BaselineEntry
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source, Status
from nebsign.manifest import Manifest
from nebsign.outcome import ScanError, ScanOutcome, Suppressed
from nebsign.policy.levels import Level, LevelTable, Override, globs, matches
from nebsign.policy.sast import SastGateFailed, SastPolicy

TODAY = date(2026, 6, 1)
W = "policy: [sast]"


def _f(rule: str, severity: Severity, path: str | None = "svc/app.py", n: int = 1) -> Finding:
    return Finding(
        source=Source.SAST,
        tool="semgrep",
        rule_id=rule,
        severity=severity,
        confidence=Confidence.HIGH,
        title=rule,
        message=rule,
        location=Location(path=path, line=3) if path else Location(url="http://127.0.0.1/x"),
        fingerprint=f"{n:064x}",
    )


def _outcome(findings: list[Finding], errors: tuple[ScanError, ...] = ()) -> ScanOutcome:
    return ScanOutcome(
        findings=tuple(findings),
        suppressed=(Suppressed("bandit", "B602", "a.py", 1, "# nosec"),),
        errors=errors,
        tools={"bandit": "1.9.4", "semgrep": "1.185.0"},
        configs={},
        manifest=Manifest(files=()),
        files=("svc/app.py", "svc/b.py"),
    )


def _policy(text: str) -> SastPolicy:
    return SastPolicy.from_toml(f"[sast]\n{text}".encode())


# -- malformed [sast] tables: every refusal, word for word ---------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\ny = 2\n", f"{W}: unknown key 'x'"),
        ("scanners = 'bandit'\n", f"{W}.scanners: a list of scanner names"),
        ("scanners = []\n", f"{W}.scanners: choose from 'bandit', 'semgrep' (at least one)"),
        ("scanners = ['x']\n", f"{W}.scanners: choose from 'bandit', 'semgrep' (at least one)"),
        ("severity = 1\n", f"{W}.severity: must be a table"),
        ("severity = {huge = 'FAIL'}\n", f"{W}.severity: unknown severity 'huge'"),
        ("severity = {high = 'no'}\n", f"{W}.severity.high: level must be IGNORE, INFO, WARN "
                                       "or FAIL, not 'no'"),
        ("rules = 1\n", f"{W}.rules: must be a table"),
        ("rules = {r1 = 2}\n", f"{W}.rules.r1: level must be IGNORE, INFO, WARN or FAIL, not 2"),
        ("paths = 1\n", f"{W}.paths: an array of tables ([[sast.paths]])"),
        ("paths = [1]\n", f"{W}.paths[0]: a table of globs, level, rules, severity"),
        ("[[sast.paths]]\nglobs = ['a']\nuntil = 2026-01-01\n",
         f"{W}.paths[0]: unknown key 'until'"),
        ("[[sast.paths]]\nlevel = 'INFO'\n", f"{W}.paths[0].globs: must be a list of glob strings"),
        ("[[sast.paths]]\nglobs = ['']\n", f"{W}.paths[0].globs: must be a list of glob strings"),
        ("[[sast.paths]]\nglobs = [1]\n", f"{W}.paths[0].globs: must be a list of glob strings"),
        ("[[sast.paths]]\nglobs = ['a']\nlevel = 'x'\n",
         f"{W}.paths[0].level: level must be IGNORE, INFO, WARN or FAIL, not 'x'"),
        ("[[sast.paths]]\nglobs = ['a']\nseverity = {low = 'x'}\n",
         f"{W}.paths[0].severity.low: level must be IGNORE, INFO, WARN or FAIL, not 'x'"),
        ("[[sast.paths]]\nglobs = ['a']\nrules = {r = 'x'}\n",
         f"{W}.paths[0].rules.r: level must be IGNORE, INFO, WARN or FAIL, not 'x'"),
        ("per_file_timeout = 0\n", f"{W}.per_file_timeout: seconds, in (0, 3600]"),
        ("per_file_timeout = 3600.5\n", f"{W}.per_file_timeout: seconds, in (0, 3600]"),
        ("per_file_timeout = true\n", f"{W}.per_file_timeout: seconds, in (0, 3600]"),
        ("per_file_timeout = '5'\n", f"{W}.per_file_timeout: seconds, in (0, 3600]"),
        ("semgrep_engine = 'pysemgrep'\n", f"{W}.semgrep_engine: 'native' or 'python'"),
        ("baseline = 1\n", f"{W}.baseline: a path relative to the scanned root"),
        ("suppression_reason_required = 1\n",
         f"{W}.suppression_reason_required: must be true or false"),
        ("include = ['']\n", f"{W}.include: must be a list of glob strings"),
        ("exclude = 'vendor/'\n", f"{W}.exclude: must be a list of glob strings"),
        ("scanner_errors = 'x'\n", f"{W}.scanner_errors: level must be IGNORE, INFO, WARN or "
                                   "FAIL, not 'x'"),
    ],
)  # fmt: skip
def test_each_malformed_sast_table_is_refused_with_its_own_message(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        _policy(text)
    assert info.value.message == message


def test_the_policy_file_is_named_in_refusals() -> None:
    with pytest.raises(InputError) as none:
        SastPolicy.from_toml(b"[other]\n", "ci/policy.toml")
    assert none.value.message == "ci/policy.toml: no [sast] table"
    with pytest.raises(InputError) as default:
        SastPolicy.from_toml(b"x = 1\n")
    assert default.value.message == "policy: no [sast] table"
    with pytest.raises(InputError) as syntax:
        SastPolicy.from_toml(b"[sast\n", "ci/policy.toml")
    assert syntax.value.message.startswith("ci/policy.toml: ")
    with pytest.raises(InputError) as escape:
        SastPolicy.from_toml(b"[sast]\nbaseline = '../b.toml'\n", "ci/policy.toml")
    assert escape.value.message.startswith("ci/policy.toml: [sast].baseline")


# -- what a valid table means ---------------------------------------------------------------


def test_values_and_defaults_are_read_as_written() -> None:
    default = _policy("")
    assert default.per_file_timeout == 30.0 and default.suppression_reason_required is False
    assert default.scanner_errors is Level.FAIL and default.baseline is None
    assert default.include == ("*.py", "*.pyw", "*.pth") and default.exclude == ()
    assert default.scanners == ("bandit", "semgrep") and default.semgrep_engine == "native"
    given = _policy(
        "scanners = ['semgrep', 'semgrep']\ninclude = ['*.py']\nexclude = ['vendor/']\n"
        "per_file_timeout = 3600\nsemgrep_engine = 'python'\nbaseline = 'ci/b.toml'\n"
        "suppression_reason_required = true\nscanner_errors = 'warn'\n"
    )
    assert (given.scanners, given.include, given.exclude) == (("semgrep",), ("*.py",), ("vendor/",))
    assert (given.per_file_timeout, given.semgrep_engine, given.baseline) == (
        3600.0,
        "python",
        "ci/b.toml",
    )
    assert given.suppression_reason_required is True and given.scanner_errors is Level.WARN
    assert _policy("per_file_timeout = 0.5\n").per_file_timeout == 0.5


def test_a_path_override_with_every_key() -> None:
    policy = _policy(
        "[[sast.paths]]\nglobs = ['tests/']\nlevel = 'INFO'\n"
        "severity = {low = 'IGNORE'}\nrules = {r1 = 'FAIL'}\n"
    )
    rule = policy.paths[0]
    assert (rule.globs, rule.level) == (("tests/",), Level.INFO)
    assert dict(rule.severity) == {Severity.LOW: Level.IGNORE} and dict(rule.rules) == {
        "r1": Level.FAIL
    }


def test_a_path_severity_table_changes_only_its_severities() -> None:
    policy = _policy(
        "severity = {high = 'WARN'}\n"
        "[[sast.paths]]\nglobs = ['svc/']\nseverity = {low = 'IGNORE'}\n"
    )
    assert policy.level_for(_f("r", Severity.HIGH)) is Level.WARN
    assert policy.level_for(_f("r", Severity.LOW)) is Level.IGNORE
    assert policy.level_for(_f("r", Severity.LOW, "lib/a.py")) is Level.FAIL


def test_without_a_severity_table_every_finding_fails() -> None:
    assert SastPolicy("sha256:x").level_for(_f("r", Severity.INFO)) is Level.FAIL
    assert LevelTable().level_for(Severity.INFO, "r", "a.py", TODAY) is Level.FAIL
    assert LevelTable(default=Level.WARN).level_for(Severity.INFO, "r", "a.py", TODAY) is Level.WARN


def test_a_finding_without_a_path_is_matched_as_the_empty_path() -> None:
    """A finding about a URL (no file) is in no path override but one matching ``""``."""
    anything = _policy("[[sast.paths]]\nglobs = ['*']\nlevel = 'IGNORE'\n")
    some_name = _policy("[[sast.paths]]\nglobs = ['?*']\nlevel = 'IGNORE'\n")
    assert anything.level_for(_f("r", Severity.HIGH, None)) is Level.IGNORE
    assert some_name.level_for(_f("r", Severity.HIGH, None)) is Level.FAIL


def test_include_and_exclude_are_asked_separately() -> None:
    policy = _policy("include = ['*.py']\nexclude = ['vendor/']\n")
    assert policy.includes("vendor/a.py") and policy.excluded("vendor/a.py")
    assert not policy.selects("vendor/a.py") and policy.selects("a.py")
    assert not policy.includes("a.txt") and not policy.excluded("a.py")


# -- globs ----------------------------------------------------------------------------------


def test_a_directory_glob_at_any_depth() -> None:
    assert matches("build/x.py", ["**/build/"]) and matches("a/b/build/x.py", ["**/build/"])
    assert not matches("a/rebuild/x.py", ["**/build/"]) and not matches("a/build.py", ["**/build/"])
    assert matches("build/x.py", ["build/"]) and not matches("a/build/x.py", ["build/"])
    assert not matches("a.py", []) and matches("a/b.py", ["*.txt", "*.py"])


def test_glob_lists_refuse_empty_and_non_strings() -> None:
    assert globs(["a", "*.py"], "g") == ("a", "*.py")
    for bad in ([""], [1], "a", None):
        with pytest.raises(InputError) as info:
            globs(bad, "g")
        assert info.value.message == "g: must be a list of glob strings"


# -- overrides (the shared level table) ------------------------------------------------------


def test_an_override_applies_through_its_until_day() -> None:
    o = Override(("a/",), Level.IGNORE, until=TODAY)
    assert o.applies("a/x", TODAY) and not o.applies("a/x", date(2026, 6, 2))
    assert not o.applies("b/x", TODAY) and Override(("a/",)).applies("a/x", date(2999, 1, 1))


def test_an_override_table_is_read_whole() -> None:
    item: dict[str, Any] = {
        "globs": ["a/"],
        "level": "warn",
        "severity": {"low": "IGNORE"},
        "rules": {"r": "FAIL"},
        "until": datetime(2026, 12, 31, 10, 0),
    }
    o = Override.from_table(item, "o")
    assert o == Override(("a/",), Level.WARN, {Severity.LOW: Level.IGNORE}, {"r": Level.FAIL},
                         date(2026, 12, 31))  # fmt: skip
    assert Override.from_table({"globs": ["a/"], "until": date(2026, 1, 1)}, "o").until == date(
        2026, 1, 1
    )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "o: a table of globs, level, rules, severity, until"),
        ({"globs": ["a"], "x": 1}, "o: unknown key 'x'"),
        ({"globs": ["a"], "until": "soon"}, "o.until: must be a TOML date like 2026-12-31"),
        ({"globs": [""]}, "o.globs: must be a list of glob strings"),
        ({"globs": ["a"], "level": "x"}, "o.level: level must be IGNORE, INFO, WARN or FAIL, "
                                         "not 'x'"),
        ({"globs": ["a"], "severity": []}, "o.severity: must be a table"),
        ({"globs": ["a"], "severity": {"x": "FAIL"}}, "o.severity: unknown severity 'x'"),
        ({"globs": ["a"], "severity": {"low": 1}}, "o.severity.low: level must be IGNORE, INFO, "
                                                   "WARN or FAIL, not 1"),
        ({"globs": ["a"], "rules": 1}, "o.rules: must be a table"),
        ({"globs": ["a"], "rules": {"r": "x"}}, "o.rules.r: level must be IGNORE, INFO, WARN or "
                                               "FAIL, not 'x'"),
    ],
)  # fmt: skip
def test_each_malformed_override_is_refused_with_its_own_message(
    item: object, message: str
) -> None:
    with pytest.raises(InputError) as info:
        Override.from_table(item, "o")
    assert info.value.message == message


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"severity": 1}, "t.severity: must be a table"),
        ({"rules": {"r": "x"}}, "t.rules.r: level must be IGNORE, INFO, WARN or FAIL, not 'x'"),
        ({"over": 1}, "t.over: an array of tables ([[over]])"),
        ({"over": [{"globs": 1}]}, "t.over[0].globs: must be a list of glob strings"),
    ],
)
def test_each_malformed_level_table_is_refused_with_its_own_message(
    table: Any, message: str
) -> None:
    with pytest.raises(InputError) as info:
        LevelTable.from_table(table, "t", "over")
    assert info.value.message == message


def test_a_scoped_severity_table_changes_only_its_severities() -> None:
    table = LevelTable.from_table(
        {"severity": {"high": "WARN"}, "over": [{"globs": ["a/"], "severity": {"low": "IGNORE"}}]},
        "t",
        "over",
    )
    assert table.severity[Severity.CRITICAL] is Level.FAIL  # unlisted severities fail
    assert table.level_for(Severity.HIGH, "r", "a/x", TODAY) is Level.WARN
    assert table.level_for(Severity.LOW, "r", "a/x", TODAY) is Level.IGNORE
    assert table.level_for(Severity.LOW, "r", "b/x", TODAY) is Level.FAIL


# -- the verdict ------------------------------------------------------------------------------


def test_every_ignored_finding_is_counted_and_the_rest_still_judged() -> None:
    policy = _policy("severity = {low = 'IGNORE', medium = 'WARN'}\n")
    findings = [_f("a", Severity.LOW, n=1), _f("b", Severity.LOW, n=2), _f("c", Severity.HIGH, n=3),
                _f("d", Severity.MEDIUM, n=4)]  # fmt: skip
    verdict = policy.evaluate(_outcome(findings), None, TODAY)
    assert verdict.ignored == 2 and [f.rule_id for f in verdict.failing] == ["c"]
    assert [f.properties["level"] for f in verdict.findings] == ["FAIL", "WARN"]
    assert verdict.policy_digest == policy.digest and policy.digest.startswith("sha256:")
    assert verdict.reason() == "SAST policy failed: 1 finding(s) at level FAIL"
    with pytest.raises(SastGateFailed) as info:
        policy.verify(verdict)
    assert info.value.message == verdict.reason()
    assert verdict.counts() == {
        "files": 2,
        "open": {"critical": 0, "high": 1, "medium": 1, "low": 0, "info": 0},
        "by_level": {"INFO": 0, "WARN": 1, "FAIL": 1},
        "failing": 1,
        "accepted": 0,
        "ignored_by_policy": 2,
        "suppressed_inline": {"bandit": 1, "semgrep": 0},
        "baseline_fixed": 0,
        "scanner_errors": 0,
    }


def test_a_baseline_accepts_until_its_day_and_counts_what_it_accepted() -> None:
    policy = _policy("")
    finding = _f("r", Severity.HIGH, n=7)
    entry = BaselineEntry(finding.fingerprint, "r", "svc/app.py", Status.ACCEPTED_RISK, "a", "b",
                          TODAY)  # fmt: skip
    gone = BaselineEntry("f" * 64, "q", "svc/b.py", Status.FALSE_POSITIVE, "a", "b", None)
    baseline = Baseline((entry, gone))
    ok = policy.evaluate(_outcome([finding]), baseline, TODAY)
    assert ok.passed and ok.failing == () and ok.fixed == (gone,)
    assert ok.counts()["accepted"] == 1 and ok.counts()["baseline_fixed"] == 1
    assert ok.reason() == "SAST policy passed"
    policy.verify(ok)
    late = policy.evaluate(_outcome([finding]), baseline, date(2026, 6, 2))
    assert not late.passed and late.counts()["accepted"] == 0


def test_scanner_errors_are_named_in_the_reason() -> None:
    errors = (ScanError("bandit", "a.py", "boom"), ScanError("semgrep", None, "down"))
    verdict = _policy("").evaluate(_outcome([_f("r", Severity.HIGH)], errors), None, TODAY)
    assert verdict.reason() == (
        "SAST policy failed: 1 finding(s) at level FAIL, 2 file(s) could not be scanned"
    )
    assert verdict.counts()["scanner_errors"] == 2
    warned = _policy("scanner_errors = 'WARN'\n").evaluate(_outcome([], errors), None, TODAY)
    assert warned.passed and warned.reason() == "SAST policy passed"
