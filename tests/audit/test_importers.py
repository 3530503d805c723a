"""Slither JSON, SARIF and contest reports import with correct mappings; no local paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit.auditkit import DATA, SLITHER_VAULT

from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.check import merge
from nebsign.audit.importers.contest import ContestImporter
from nebsign.audit.importers.sarif import SarifImporter
from nebsign.audit.importers.slither import SlitherImporter
from nebsign.audit.interface import detect, load_audit
from nebsign.audit.mapping import SEVERITY_LABELS, STATUS_LABELS, map_severity, map_status
from nebsign.findings import Severity, Source, Status

BANK = DATA / "slither-bank.json"


def test_slither_json_of_several_detectors() -> None:
    audit = load_audit(BANK)
    assert audit.kind == "slither"
    by_check = {f.rule_id: f for f in audit.findings}
    assert set(by_check) == {
        "arbitrary-send-eth",
        "reentrancy-eth",
        "suicidal",
        "tx-origin",
        "missing-zero-check",
        "solc-version",
        "low-level-calls",
        "naming-convention",
        "unused-state",
        "immutable-states",
    }
    expected = {
        "reentrancy-eth": (Severity.HIGH, "High"),
        "tx-origin": (Severity.MEDIUM, "Medium"),
        "missing-zero-check": (Severity.LOW, "Low"),
        "solc-version": (Severity.INFO, "Informational"),
        "immutable-states": (Severity.INFO, "Optimization"),
    }
    for check, (severity, label) in expected.items():
        assert by_check[check].severity is severity
        assert by_check[check].properties["original_severity"] == label
    re = by_check["reentrancy-eth"]
    assert re.source is Source.AUDIT and re.tool == "slither"
    assert re.location.path == "contracts/Bank.sol" and re.location.line == 13
    assert re.properties["contract"] == "Bank" and re.properties["function"] == "withdraw"
    # not Slither's id: nebsign's fingerprint (check + contract + function + source)
    assert re.fingerprint != re.properties["slither_id"] and len(re.fingerprint) == 64


def test_local_paths_never_reach_a_finding() -> None:
    raw = BANK.read_text()
    assert "/home/alice" in raw  # the trap is in the input
    audit = load_audit(BANK)
    text = json.dumps([f.to_dict() for f in audit.findings])
    assert "/home/alice" not in text and "filename_absolute" not in text
    assert "contracts/Bank.sol#13-18" in text


def test_fingerprint_ignores_slither_id_and_line_numbers() -> None:
    doc = json.loads(SLITHER_VAULT.read_text())
    before = {
        f.rule_id: f.fingerprint
        for f in SlitherImporter().parse(SLITHER_VAULT.read_bytes(), "a").findings
    }
    for det in doc["results"]["detectors"]:
        det["id"] = "0" * 64
        for el in det["elements"]:
            el["source_mapping"]["lines"] = [n + 7 for n in el["source_mapping"]["lines"]]
            el["source_mapping"]["start"] += 120
    after = SlitherImporter().parse(json.dumps(doc).encode(), "b")
    assert {f.rule_id: f.fingerprint for f in after.findings} == before
    assert after.findings[0].location.line == 26


def test_slither_failure_document_is_bad_input() -> None:
    raw = json.dumps(
        {
            "success": False,
            "error": "compile failed in /home/bob/x.sol",
            "results": {"detectors": []},
        }
    )
    with pytest.raises(InvalidAuditInput, match="did not succeed") as info:
        SlitherImporter().parse(raw.encode(), "s.json")
    assert "/home/bob" not in info.value.message


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["results"].update(detectors={}), "s.json.results.detectors"),
        (
            lambda d: d["results"]["detectors"][0].update(impact="Severe"),
            "s.json.results.detectors[0].impact",
        ),
        (lambda d: d["results"]["detectors"][0].pop("check"), "s.json.results.detectors[0].check"),
        (
            lambda d: d["results"]["detectors"][0]["elements"][0]["source_mapping"].update(
                filename_relative="/abs/Vault.sol", filename_short="/abs/Vault.sol"
            ),
            "s.json.results.detectors[0].elements[0].source_mapping.filename_relative",
        ),
        (
            lambda d: d["results"]["detectors"][0]["elements"][0]["source_mapping"].update(
                lines=[0]
            ),
            "s.json.results.detectors[0].elements[0].source_mapping.lines",
        ),
    ],
)
def test_malformed_slither_json_names_the_field(mutate, field) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(SLITHER_VAULT.read_text())
    mutate(doc)
    with pytest.raises(InvalidAuditInput) as info:
        SlitherImporter().parse(json.dumps(doc).encode(), "s.json")
    assert info.value.message.startswith(field), info.value.message


def test_sarif_from_slither_imports_as_audit_findings() -> None:
    path = DATA / "slither-vault.sarif"
    assert isinstance(detect(path.read_bytes(), path.name), SarifImporter)
    audit = load_audit(path)
    assert audit.kind == "sarif" and audit.auditor == "Slither"
    by_rule = {f.properties["rule_name"]: f for f in audit.findings}
    assert by_rule["reentrancy-events"].severity is Severity.LOW  # security-severity 3.0
    assert by_rule["low-level-calls"].severity is Severity.INFO  # 0.0
    assert all(f.source is Source.AUDIT for f in audit.findings)
    tool_fp = by_rule["reentrancy-events"].properties["tool_fingerprint"]
    assert by_rule["reentrancy-events"].fingerprint != tool_fp


def test_json_is_preferred_over_sarif_of_the_same_slither_run() -> None:
    audits = [load_audit(DATA / "slither-vault.sarif"), load_audit(SLITHER_VAULT)]
    kept, notes = merge(audits)
    assert [a.kind for a in kept] == ["slither"]
    assert notes and "SARIF" in notes[0]


def test_nebsign_sarif_round_trips_exactly(tmp_path: Path) -> None:
    from nebsign.sarif import sarif_bytes, to_sarif

    audit = load_audit(BANK)
    log = to_sarif(audit.findings, tools={"slither": "x"}, driver_version="1", automation_id="a/")
    again = SarifImporter().parse(sarif_bytes(log), "n.sarif")
    assert sorted(again.findings, key=lambda f: f.sort_key()) == sorted(
        audit.findings, key=lambda f: f.sort_key()
    )


def test_malformed_sarif_names_the_field() -> None:
    raw = json.dumps(
        {
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "M"}}, "results": [{"ruleId": 3}]}],
        }
    )
    with pytest.raises(InvalidAuditInput, match=r"runs\[0\]\.results\[0\]"):
        SarifImporter().parse(raw.encode(), "m.sarif")


def test_code4rena_report() -> None:
    path = DATA / "c4-report.md"
    assert isinstance(detect(path.read_bytes(), path.name), ContestImporter)
    audit = load_audit(path)
    assert audit.auditor == "Code4rena"
    by_id = {f.rule_id: f for f in audit.findings}
    assert set(by_id) == {"H-01", "M-01", "M-02", "L-01", "NC-01", "G-01"}
    assert by_id["H-01"].severity is Severity.HIGH and by_id["H-01"].status is Status.FIXED
    assert by_id["H-01"].location.path == "contracts/Vault.sol"
    assert (by_id["H-01"].location.line, by_id["H-01"].location.end_line) == (19, 25)
    assert by_id["H-01"].properties["issue_url"].endswith("/issues/17")
    assert by_id["M-01"].status is Status.ACKNOWLEDGED
    assert by_id["M-02"].status is Status.OPEN
    assert by_id["M-02"].properties["original_status"] == "sponsor disputed"
    assert by_id["L-01"].severity is Severity.LOW
    assert by_id["NC-01"].severity is Severity.INFO
    assert by_id["G-01"].severity is Severity.INFO
    assert by_id["G-01"].properties["original_severity"] == "Gas"
    assert by_id["G-01"].status is Status.ACCEPTED_RISK


def test_sherlock_report() -> None:
    audit = load_audit(DATA / "sherlock-report.md")
    assert audit.auditor == "Sherlock"
    by_id = {f.rule_id: f for f in audit.findings}
    assert by_id["H-1"].status is Status.FIXED and by_id["H-1"].severity is Severity.HIGH
    assert by_id["M-1"].status is Status.ACKNOWLEDGED


def test_contest_errors_name_the_finding() -> None:
    raw = b"# Report\n\n## [H-01] Thing\n\n**Status:** Perhaps\n"
    with pytest.raises(InvalidAuditInput, match=r"finding H-01 \(line 3\)\.status"):
        ContestImporter().parse(raw, "c.md")
    with pytest.raises(InvalidAuditInput, match="used twice"):
        ContestImporter().parse(b"## [H-01] A\n## [H-01] B\n", "c.md")
    with pytest.raises(InvalidAuditInput, match="not UTF-8"):
        ContestImporter().parse(b"## [H-01] A\xff\n", "c.md")


def test_unknown_format_is_bad_input() -> None:
    with pytest.raises(InvalidAuditInput, match="not a recognised audit format"):
        detect(b"hello", "x.txt")


SEVERITIES = {
    # firm scales
    "Critical": Severity.CRITICAL,
    "Major": Severity.HIGH,
    "High": Severity.HIGH,
    "Medium": Severity.MEDIUM,
    "Moderate": Severity.MEDIUM,
    "Undetermined": Severity.MEDIUM,
    "Minor": Severity.LOW,
    "Low": Severity.LOW,
    "Informational": Severity.INFO,
    "Note": Severity.INFO,
    "Notes": Severity.INFO,
    "Gas": Severity.INFO,
    "Optimization": Severity.INFO,
    "Best Practice": Severity.INFO,
    # contest risk
    "3": Severity.HIGH,
    "2": Severity.MEDIUM,
    "QA": Severity.LOW,
    "Non-Critical": Severity.INFO,
    "High Risk": Severity.HIGH,
}
STATUSES = {
    "Resolved": Status.FIXED,
    "Fixed": Status.FIXED,
    "Remediated": Status.FIXED,
    "Partially Resolved": Status.OPEN,
    "Partially Fixed": Status.OPEN,
    "Mitigated": Status.OPEN,
    "Unresolved": Status.OPEN,
    "Open": Status.OPEN,
    "Acknowledged": Status.ACKNOWLEDGED,
    "Declined": Status.ACCEPTED_RISK,
    "Won't Fix": Status.ACCEPTED_RISK,
    "Won\u2019t fix": Status.ACCEPTED_RISK,
    "wont_fix": Status.ACCEPTED_RISK,
    "Risk Accepted": Status.ACCEPTED_RISK,
    "False Positive": Status.FALSE_POSITIVE,
}


@pytest.mark.parametrize(("label", "severity"), SEVERITIES.items())
def test_severity_mapping(label: str, severity: Severity) -> None:
    assert map_severity(label, "x") is severity
    assert map_severity(label.upper(), "x") is severity


@pytest.mark.parametrize(("label", "status"), STATUSES.items())
def test_status_mapping(label: str, status: Status) -> None:
    assert map_status(label, "x") is status


def test_acknowledged_declined_wont_fix_are_never_fixed() -> None:
    for label, status in STATUS_LABELS.items():
        if any(w in label for w in ("acknowledged", "declined", "won't", "wont", "will not")):
            assert status is not Status.FIXED, label
    assert all(isinstance(v, Severity) for v in SEVERITY_LABELS.values())


def test_slither_fingerprints_agree_with_the_shared_numbering() -> None:
    from dataclasses import replace

    from nebsign.findings import assign_fingerprints

    doc = json.loads(BANK.read_text())
    doc["results"]["detectors"] += doc["results"]["detectors"][:3]  # twins
    audit = SlitherImporter().parse(json.dumps(doc).encode(), "twins")
    cleared = [replace(f, fingerprint="") for f in audit.findings]
    assert {f.fingerprint for f in assign_fingerprints(cleared)} == {
        f.fingerprint for f in audit.findings
    }
    assert len({f.fingerprint for f in audit.findings}) == len(audit.findings) == 13


def test_slither_lone_surrogate_is_bad_input() -> None:
    raw = SLITHER_VAULT.read_bytes().replace(b'"name": "withdraw"', b'"name": "w\\ud800"', 1)
    with pytest.raises(InvalidAuditInput, match="surrogate"):
        SlitherImporter().parse(raw, "s.json")
    paired = SLITHER_VAULT.read_bytes().replace(
        b'"name": "withdraw"', b'"name": "w\\ud83d\\ude00"', 1
    )
    assert SlitherImporter().parse(paired, "s.json").findings


def test_sarif_from_another_analyser_maps_levels_and_scrubs_paths() -> None:
    audit = load_audit(DATA / "aderyn.sarif")
    assert audit.auditor == "Aderyn"
    by_rule = {f.rule_id: f for f in audit.findings}
    central = by_rule["centralization-risk"]
    assert (
        central.severity is Severity.MEDIUM and central.properties["original_severity"] == "warning"
    )
    assert "/Users/carol" not in central.message and "<local path>" in central.message
    pragma = by_rule["unspecific-solidity-pragma"]
    assert pragma.severity is Severity.LOW and pragma.properties["tool_fingerprint"] == "abc"
    assert pragma.fingerprint != "abc" and len(pragma.fingerprint) == 64
