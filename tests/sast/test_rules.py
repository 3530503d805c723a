"""nebsign's semgrep rules and bandit profile against their true/false-positive cases."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from sast.sastkit import ANNOTATION, CASES, POLICIES, annotations, case_files

from nebsign.findings import Finding, Severity
from nebsign.outcome import ScanOutcome

RULE_FILES = sorted((POLICIES / "semgrep").glob("*.yaml"))


def _rules() -> list[dict]:
    rules = []
    for path in RULE_FILES:
        rules.extend(yaml.safe_load(path.read_text())["rules"])
    return rules


RULES = _rules()
RULE_IDS = sorted(r["id"] for r in RULES)


def test_every_rule_is_documented_and_has_cases() -> None:
    assert len(RULE_IDS) == len(set(RULE_IDS)) >= 15
    for rule in RULES:
        meta = rule["metadata"]
        assert "." not in rule["id"], rule["id"]
        assert rule["message"].strip() and rule["severity"] in {"ERROR", "WARNING", "INFO"}
        assert meta["cwe"] and all(c.startswith("CWE-") for c in meta["cwe"])
        ours = meta["nebsign"]
        assert ours["title"] and ours["recommendation"]
        Severity(ours["severity"])
        assert (CASES / f"{rule['id']}.py").is_file(), f"no case file for {rule['id']}"
    assert sorted(p.stem for p in CASES.glob("*.py")) == RULE_IDS


def test_no_registry_rules_are_shipped() -> None:
    for path in RULE_FILES:
        text = path.read_text()
        assert "r2c" not in text and "semgrep.dev" not in text and "p/" not in text.split()


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_true_and_false_positives(rule_id: str, cases_outcome: ScanOutcome) -> None:
    path = CASES / f"{rule_id}.py"
    expected, clean = annotations(path)
    assert expected and clean, "every case file needs both ruleid: and ok: lines"
    flagged = [
        f.location.line
        for f in cases_outcome.findings
        if f.tool == "semgrep" and f.rule_id == rule_id and f.location.path == path.name
    ]
    assert sorted(flagged) == sorted(expected), (rule_id, flagged, expected)
    elsewhere = [
        f
        for f in cases_outcome.findings
        if f.tool == "semgrep" and f.rule_id == rule_id and f.location.path != path.name
    ]
    assert not elsewhere, [str(f.location) for f in elsewhere]


def _bandit_only(outcome: ScanOutcome) -> list[Finding]:
    return [f for f in outcome.findings if f.tool == "bandit"]


def test_bandit_and_semgrep_normalize_the_same_code_identically(cases_outcome: ScanOutcome) -> None:
    """Where both tools flag a line, the normalized findings agree (and are merged)."""
    from sast.sastkit import bandit

    from nebsign.sast.runner import run_scan

    bandit_alone = run_scan(CASES, case_files(), [bandit()])
    by_line = {(f.location.path, f.location.line, f.rule_id): f for f in bandit_alone.findings}
    merged = [f for f in cases_outcome.findings if f.properties.get("also_reported_by")]
    assert len(merged) >= 20
    for finding in merged:
        for other in finding.properties["also_reported_by"]:
            twin = by_line.get((finding.location.path, finding.location.line, other["rule_id"]))
            assert twin is not None, (str(finding.location), other)
            assert twin.source is finding.source
            assert twin.severity is finding.severity, (str(finding.location), twin.rule_id)
            assert twin.cwe == finding.cwe, (str(finding.location), twin.rule_id, twin.cwe)
            assert twin.location.path == finding.location.path
            assert twin.location.line == finding.location.line
            assert set(twin.to_dict()) == set(finding.to_dict())
            assert twin.properties["bandit_severity"] in {"LOW", "MEDIUM", "HIGH"}
            assert finding.properties["semgrep_severity"] in {"ERROR", "WARNING", "INFO"}
    # merged bandit hits do not also appear on their own
    for finding in merged:
        for other in finding.properties["also_reported_by"]:
            assert not [
                f
                for f in _bandit_only(cases_outcome)
                if f.rule_id == other["rule_id"]
                and f.location.line == finding.location.line
                and f.location.path == finding.location.path
            ]


@pytest.mark.filterwarnings("ignore:The verify_requirements argument")
def test_bandit_profile_selects_only_known_tests() -> None:
    profile = yaml.safe_load((POLICIES / "bandit.yaml").read_text())
    from bandit.core import extension_loader

    known = set(extension_loader.MANAGER.plugins_by_id) | set(
        extension_loader.MANAGER.blacklist_by_id
    )
    assert set(profile["tests"]) <= known, set(profile["tests"]) - known
    for test_id in profile["nebsign"]["severity"]:
        assert test_id.split("/")[0] in profile["tests"]


def _statement_lines(tree: ast.AST) -> set[int]:
    return {node.lineno for node in ast.walk(tree) if isinstance(node, ast.stmt | ast.expr)}


def test_case_files_are_valid_python() -> None:
    """Each case file parses, and each annotation marks a line of code of its own rule.

    An annotation above a blank line or a comment would make its case vacuous (an
    ``ok:`` line with no code is never flagged), and one naming another rule is
    never checked by ``test_rule_true_and_false_positives``.
    """
    paths = sorted(CASES.glob("*.py"))
    assert paths
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))  # SyntaxError fails the test
        code_lines = _statement_lines(tree)
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            match = ANNOTATION.search(line)
            if match is None:
                continue
            assert match.group(2) == path.stem, f"{path.name}:{number} names {match.group(2)}"
            assert number + 1 in code_lines, f"{path.name}:{number} annotates no code"
        expected, clean = annotations(path)
        assert expected and clean and not expected & clean, path.name


def test_outcome_has_no_scanner_errors(cases_outcome: ScanOutcome) -> None:
    assert cases_outcome.errors == ()
    assert set(cases_outcome.tools) == {"bandit", "semgrep"}
    assert len(cases_outcome.files) == len(list(Path(CASES).glob("*.py")))
