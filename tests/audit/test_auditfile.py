"""nebsign's own audit file: TOML and JSON, the published schema, errors naming the field."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from typing import Any

import jsonschema
import pytest
from audit.auditkit import SAMPLE_AUDIT, VAULT_SHA256, audit_doc

from nebsign.audit._fields import InvalidAuditInput
from nebsign.audit.importers.auditfile import AuditFileImporter
from nebsign.audit.interface import detect
from nebsign.findings import Severity, Source, Status


def _schema() -> dict[str, Any]:
    from pathlib import Path

    import nebsign

    path = Path(nebsign.__file__).parent / "_schemas" / "audit-file-v1.json"
    return json.loads(path.read_text())


def _parse(doc: dict[str, Any]) -> Any:
    return AuditFileImporter().parse(json.dumps(doc).encode(), "audit.json")


def test_sample_audit_file_imports_with_original_labels() -> None:
    raw = SAMPLE_AUDIT.read_bytes()
    assert isinstance(detect(raw, SAMPLE_AUDIT.name), AuditFileImporter)
    audit = AuditFileImporter().parse(raw, SAMPLE_AUDIT.name)
    assert audit.auditor == "Example Security Labs"
    assert audit.audit_date == date(2026, 10, 5)
    assert audit.fix_review_date == date(2026, 10, 26)
    assert [(s.path, s.algorithm, s.digest) for s in audit.scope] == [
        ("contracts/Vault.sol", "sha256", VAULT_SHA256)
    ]
    by_id = {f.rule_id: f for f in audit.findings}
    assert by_id["EXS-01"].severity is Severity.HIGH
    assert by_id["EXS-01"].status is Status.FIXED
    assert by_id["EXS-01"].properties["fix_pr"] == "https://github.com/example/exchange/pull/412"
    assert by_id["EXS-01"].swc == ("SWC-107",) and by_id["EXS-01"].cwe == ("CWE-841",)
    assert by_id["EXS-02"].status is Status.ACKNOWLEDGED
    assert by_id["EXS-02"].properties["original_status"] == "Acknowledged"
    assert by_id["EXS-04"].status is Status.ACCEPTED_RISK
    assert by_id["EXS-04"].properties["original_status"] == "Won't Fix"
    assert by_id["EXS-03"].properties["original_severity"] == "Informational"
    assert all(f.source is Source.AUDIT and f.tool == audit.auditor for f in audit.findings)
    assert len({f.fingerprint for f in audit.findings}) == 4


def test_sample_is_valid_against_the_published_schema() -> None:
    doc = tomllib.loads(SAMPLE_AUDIT.read_text())
    doc["dates"] = {k: v.isoformat() for k, v in doc["dates"].items()}
    jsonschema.Draft202012Validator.check_schema(_schema())
    jsonschema.Draft202012Validator(_schema()).validate(doc)


def test_json_and_toml_forms_give_the_same_audit() -> None:
    doc = tomllib.loads(SAMPLE_AUDIT.read_text())
    doc["dates"] = {k: v.isoformat() for k, v in doc["dates"].items()}
    from_toml = AuditFileImporter().parse(SAMPLE_AUDIT.read_bytes(), "a.toml")
    assert _parse(doc) == from_toml


def test_sha1_scope_is_kept_and_labelled_weak() -> None:
    audit = _parse(audit_doc(scope=[{"path": "contracts/A.sol", "sha1": "a" * 40}]))
    (entry,) = audit.scope
    assert entry.algorithm == "sha1" and entry.weak
    assert entry.to_dict() == {"path": "contracts/A.sol", "sha1": "a" * 40, "weak": True}


BAD: list[tuple[dict[str, Any], str]] = [
    (audit_doc(schema="https://other/v1"), "audit.json.schema"),
    (audit_doc(auditor=""), "audit.json.auditor"),
    (audit_doc(report={"title": "x"}), "audit.json.report.url"),
    (audit_doc(report={"title": "x", "url": "http://insecure"}), "audit.json.report.url"),
    (audit_doc(scope=[]), "audit.json.scope"),
    (
        audit_doc(scope=[{"path": "/etc/passwd", "sha256": VAULT_SHA256}]),
        "audit.json.scope[0].path",
    ),
    (audit_doc(scope=[{"path": "../x.sol", "sha256": VAULT_SHA256}]), "audit.json.scope[0].path"),
    (audit_doc(scope=[{"path": "a.sol", "sha256": "abc"}]), "audit.json.scope[0].sha256"),
    (
        audit_doc(scope=[{"path": "a.sol", "sha256": VAULT_SHA256, "sha1": "a" * 40}]),
        "audit.json.scope[0]",
    ),
    (audit_doc(dates={"audit": "last tuesday"}), "audit.json.dates.audit"),
    (audit_doc(commit="not-hex"), "audit.json.commit"),
    (audit_doc(extra=1), "audit.json.extra"),
    (
        audit_doc(findings=[{"id": "A-1", "title": "t", "severity": "Spicy", "status": "Open"}]),
        "audit.json.findings[0].severity",
    ),
    (
        audit_doc(findings=[{"id": "A-1", "title": "t", "severity": "High", "status": "Meh"}]),
        "audit.json.findings[0].status",
    ),
    (
        audit_doc(findings=[{"id": "A-1", "title": "t", "severity": "High"}]),
        "audit.json.findings[0].status",
    ),
    (
        audit_doc(
            findings=[
                {"id": "A-1", "title": "t", "severity": "High", "status": "Open", "swc": ["107"]}
            ]
        ),
        "audit.json.findings[0].swc[0]",
    ),
    (
        audit_doc(
            findings=[
                {
                    "id": "A-1",
                    "title": "t",
                    "severity": "High",
                    "status": "Open",
                    "location": {"path": "a.sol", "line": 0},
                }
            ]
        ),
        "audit.json.findings[0].location.line",
    ),
    (
        audit_doc(
            findings=[
                {"id": "A-1", "title": "t", "severity": "High", "status": "Open"},
                {"id": "A-1", "title": "u", "severity": "Low", "status": "Open"},
            ]
        ),
        "audit.json.findings[1].id",
    ),
]


@pytest.mark.parametrize(("doc", "field"), BAD)
def test_malformed_audit_file_names_the_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAuditInput) as info:
        _parse(doc)
    assert info.value.message.startswith(field), info.value.message
    assert info.value.exit_code == 2


#: what JSON Schema cannot say: the firms' label vocabularies, unique ids
_PARSER_ONLY = {
    "audit.json.findings[0].severity",
    "audit.json.findings[1].id",
}


@pytest.mark.parametrize(("doc", "field"), BAD)
def test_the_schema_rejects_what_the_parser_rejects(doc: dict[str, Any], field: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    if field in _PARSER_ONLY or (field.endswith(".status") and "Meh" in json.dumps(doc)):
        assert validator.is_valid(doc), field
        return
    assert not validator.is_valid(doc), field


def test_invalid_toml_and_oversize_are_input_errors() -> None:
    with pytest.raises(InvalidAuditInput, match="invalid TOML"):
        AuditFileImporter().parse(b'schema = "https://nebsign.dev/schemas/audit-file/v1"\n[', "a")
    with pytest.raises(InvalidAuditInput, match="not valid JSON"):
        AuditFileImporter().parse(b"{ nope", "a.json")
