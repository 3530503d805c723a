"""Coverage and drift against the [audit] policy; gates; the predicate and its subjects."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from audit.auditkit import SAMPLE_AUDIT, VAULT_SHA256, audit_doc, copy_release

from nebsign._internal.canonical import canonical_json
from nebsign.attest import AUDIT_V1
from nebsign.audit.check import check_release, judge
from nebsign.audit.importers.auditfile import AuditFileImporter
from nebsign.audit.interface import load_audit
from nebsign.audit.policy import AuditPolicy
from nebsign.audit.report import predicate, statement
from nebsign.audit.service import check_audits, load_policy
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError
from nebsign.manifest import FileEntry, Manifest
from nebsign.tree import build_manifest


def _manifest(release: Path, tmp: Path) -> Path:
    path = tmp / "release.json"
    path.write_bytes(build_manifest(release, name="exchange-api").to_json())
    return path


def _policy(extra: str = "") -> AuditPolicy:
    return AuditPolicy.from_toml(f'[audit]\nrequired = ["contracts/**"]\n{extra}'.encode())


def test_the_example_release_ships_the_audited_bytes(tmp_path: Path) -> None:
    release = copy_release(tmp_path / "r")
    result = check_audits(_manifest(release, tmp_path), [SAMPLE_AUDIT], load_policy(None))
    cov = result.verdict.coverage
    assert cov is not None and cov.covered == ("contracts/Vault.sol",)
    assert cov.uncovered == () and cov.drifted == ()
    assert result.verdict.passed


def test_changing_an_audited_contract_fails_and_names_it(tmp_path: Path) -> None:
    release = copy_release(tmp_path / "r")
    vault = release / "contracts" / "Vault.sol"
    vault.write_bytes(vault.read_bytes().replace(b"insufficient", b"not enough"))
    result = check_audits(_manifest(release, tmp_path), [SAMPLE_AUDIT], load_policy(None))
    cov = result.verdict.coverage
    assert cov is not None
    assert [d.path for d in cov.drifted] == ["contracts/Vault.sol"]
    assert cov.drifted[0].audited == VAULT_SHA256
    assert cov.drifted[0].released == sha256_bytes(vault.read_bytes())
    assert not result.verdict.passed
    assert "changed since the audit" in result.verdict.reason()


def test_a_new_uncovered_contract_is_named(tmp_path: Path) -> None:
    release = copy_release(tmp_path / "r")
    (release / "contracts" / "sub").mkdir()
    (release / "contracts" / "sub" / "Bridge.sol").write_text("contract Bridge {}\n")
    (release / "app" / "notes.sol").write_text("// not under contracts/\n")
    result = check_audits(_manifest(release, tmp_path), [SAMPLE_AUDIT], load_policy(None))
    cov = result.verdict.coverage
    assert cov is not None and cov.uncovered == ("contracts/sub/Bridge.sol",)
    assert not result.verdict.passed and "not covered" in result.verdict.reason()


def test_policy_decides_what_fails(tmp_path: Path) -> None:
    manifest = Manifest(files=(FileEntry("contracts/X.sol", 1, "b" * 64),))
    audit = AuditFileImporter().parse(json.dumps(audit_doc(findings=[])).encode(), "a")
    warn_only = _policy('fail_on = ["drifted"]')
    cov = check_release(manifest, [audit], warn_only)
    assert cov.uncovered == ("contracts/X.sol",)
    assert judge([audit], warn_only, cov).passed
    assert not judge([audit], _policy(), cov).passed


def test_sha1_scope_is_weaker_evidence(tmp_path: Path) -> None:
    release = copy_release(tmp_path / "r")
    sha1 = hashlib.sha1((release / "contracts" / "Vault.sol").read_bytes()).hexdigest()
    audit_path = tmp_path / "c.json"
    audit_path.write_text(
        json.dumps(audit_doc(scope=[{"path": "contracts/Vault.sol", "sha1": sha1}], findings=[]))
    )
    manifest = _manifest(release, tmp_path)
    # default: a SHA-1 never covers a file, and it is reported as weak
    strict = check_audits(manifest, [audit_path], load_policy(None), root=release).verdict
    assert strict.coverage is not None
    assert [(w.path, w.matched) for w in strict.coverage.weak] == [("contracts/Vault.sol", True)]
    assert strict.coverage.uncovered == ("contracts/Vault.sol",) and not strict.passed
    # accepted by policy, with the bytes compared
    lenient = _policy("accept_sha1 = true")
    ok = check_audits(manifest, [audit_path], lenient, root=release).verdict
    assert ok.passed and ok.coverage is not None and ok.coverage.weak[0].matched is True
    # without the release tree the SHA-1 cannot be compared: not covered
    unchecked = check_audits(manifest, [audit_path], lenient).verdict
    assert unchecked.coverage is not None and unchecked.coverage.weak[0].matched is None
    assert not unchecked.passed
    # a SHA-1 that differs is drift
    (release / "contracts" / "Vault.sol").write_text("changed")
    manifest = _manifest(release, tmp_path)
    drift = check_audits(manifest, [audit_path], lenient, root=release).verdict
    assert drift.coverage is not None and drift.coverage.drifted[0].audited.startswith("sha1:")
    # never mistaken for a SHA-256
    fake = audit_doc(scope=[{"path": "contracts/Vault.sol", "sha1": VAULT_SHA256[:40]}])
    audit_path.write_text(json.dumps(fake))
    assert not check_audits(manifest, [audit_path], lenient).verdict.passed


def test_acknowledged_high_finding_stays_open_unless_the_policy_accepts_it() -> None:
    doc = audit_doc(
        findings=[
            {"id": "A-1", "title": "t", "severity": "High", "status": "Acknowledged"},
            {"id": "A-2", "title": "u", "severity": "Critical", "status": "Resolved"},
        ]
    )
    audit = AuditFileImporter().parse(json.dumps(doc).encode(), "a")
    strict = judge([audit], _policy())
    assert [f.rule_id for f in strict.open_findings] == ["A-1"] and not strict.passed
    pred = predicate(strict)
    assert pred["counts"]["fixed"] == 1  # only the resolved one
    assert pred["counts"]["by_status"]["acknowledged"] == 1
    assert judge([audit], _policy("accept_acknowledged = true")).passed
    assert judge([audit], _policy('[audit.rules]\n"A-1" = "WARN"')).passed


def test_predicate_follows_the_shared_convention(tmp_path: Path) -> None:
    release = copy_release(tmp_path / "r")
    result = check_audits(_manifest(release, tmp_path), [SAMPLE_AUDIT], load_policy(None))
    pred = predicate(result.verdict)
    for key in (
        "verdict",
        "reason",
        "policy_digest",
        "tools",
        "counts",
        "findings",
        "findings_digest",
        "auditor",
        "report",
        "dates",
        "repository",
        "commit",
        "scope",
        "coverage",
    ):
        assert key in pred, key
    assert pred["verdict"] == "pass" and pred["policy_digest"].startswith("sha256:")
    assert pred["findings_digest"] == f"sha256:{sha256_bytes(canonical_json(pred['findings']))}"
    assert pred["dates"] == {"audit": "2026-10-05", "fix_review": "2026-10-26"}
    assert pred["scope"] == [{"path": "contracts/Vault.sol", "sha256": VAULT_SHA256}]
    assert set(pred["coverage"]) >= {"uncovered", "drifted", "open_at_or_above_level"}
    ids = [(f["properties"]["firm_id"], f["status"]) for f in pred["findings"]]
    assert ("EXS-02", "acknowledged") in ids
    stmt = statement(result.verdict)
    assert stmt.predicate_type == AUDIT_V1
    assert [(s.name, s.sha256) for s in stmt.subjects] == [("contracts/Vault.sol", VAULT_SHA256)]
    # deterministic
    again = check_audits(_manifest(release, tmp_path), [SAMPLE_AUDIT], load_policy(None))
    assert statement(again.verdict).to_json() == stmt.to_json()


def test_no_sha256_scope_needs_the_manifest_as_subject() -> None:
    audit = load_audit(Path(__file__).parent / "data" / "slither-bank.json")
    verdict = judge([audit], _policy())
    with pytest.raises(InputError, match="nothing to attest"):
        statement(verdict)
    stmt = statement(verdict, ("release.json", "c" * 64))
    assert stmt.subjects[0].name == "release.json"


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ('fail_on = ["everything"]', "fail_on"),
        ("accept_sha1 = 1", "accept_sha1"),
        ("required = [1]", "required"),
        ('[audit.severity]\nhigh = "LOUD"', "severity.high"),
        ("bogus = 1", "bogus"),
        ("[audit.scan]\ntimeout = -1", "scan.timeout"),
    ],
)
def test_bad_audit_policy_names_the_key(table: str, field: str) -> None:
    with pytest.raises(InputError, match=rf"\[audit\]\.{field}"):
        AuditPolicy.from_toml(f"[audit]\n{table}\n".encode())


def test_findings_digest_is_rfc8785_whatever_the_properties() -> None:
    from dataclasses import replace

    from nebsign.findings import _canonical_rows as _canonical

    audit = load_audit(Path(__file__).parent / "data" / "slither-bank.json")
    dicts = [f.to_dict() for f in audit.findings]
    assert _canonical(dicts) == canonical_json(dicts)
    odd = [
        replace(f, properties={**f.properties, "score": 0.1, "big": 2**52, "ключ": "é"})
        for f in audit.findings[:2]
    ]
    odd_dicts = [f.to_dict() for f in odd]
    assert _canonical(odd_dicts) == canonical_json(odd_dicts)


def test_check_attestation_also_names_the_release_manifest(tmp_path: Path) -> None:
    release = copy_release(tmp_path / "r")
    manifest_path = _manifest(release, tmp_path)
    result = check_audits(manifest_path, [SAMPLE_AUDIT], load_policy(None))
    stmt = statement(result.verdict, (result.manifest_name, result.manifest_digest))
    digest = Manifest.from_json(manifest_path.read_bytes()).digest()
    assert stmt.covers(digest) and stmt.covers(VAULT_SHA256)
