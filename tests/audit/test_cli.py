"""``nebsign audit``: every exit code through a real process, outputs, the signed attestation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit.auditkit import DATA, SAMPLE_AUDIT, SLITHER_VAULT, VAULT_SHA256, copy_release
from helpers import assert_one_line_error, run_cli

from nebsign.attest import AUDIT_V1
from nebsign.bundle import Bundle
from nebsign.keys import KeyKind, generate_key, save_private_key
from nebsign.policy.trust import TrustPolicy
from nebsign.tree import build_manifest
from nebsign.verify import verify_attestation

BANK = DATA / "slither-bank.json"


def _release(tmp_path: Path) -> tuple[Path, Path]:
    release = copy_release(tmp_path / "release")
    manifest = tmp_path / "release.json"
    manifest.write_bytes(build_manifest(release, name="exchange-api").to_json())
    return release, manifest


def test_import_sample_text_shows_original_labels() -> None:
    result = run_cli("audit", "import", str(SAMPLE_AUDIT))
    assert result.exit_code == 0, result.stderr
    assert "Acknowledged -> acknowledged" in result.stdout
    assert "Won't Fix -> accepted-risk" in result.stdout
    assert "verdict: PASS" in result.stdout
    assert "[EXS-01]" not in result.stdout.split("not fixed")[1]  # fixed: not listed as open


def test_import_failing_findings_exit_1_with_json_on_stdout() -> None:
    result = run_cli("audit", "import", str(BANK), "--format", "json")
    assert_one_line_error(result, 1)
    out = json.loads(result.stdout)
    assert out["verdict"] == "fail" and out["predicate_type"] == AUDIT_V1
    assert out["counts"]["open_at_or_above_level"] == 4


def test_check_passes_then_catches_drift(tmp_path: Path) -> None:
    release, manifest = _release(tmp_path)
    ok = run_cli(
        "audit", "check", "--manifest", str(manifest), str(SAMPLE_AUDIT), "--format", "json"
    )
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["coverage"]["uncovered"] == []
    vault = release / "contracts" / "Vault.sol"
    vault.write_text(vault.read_text() + "\n// edited after the audit\n")
    manifest.write_bytes(build_manifest(release, name="exchange-api").to_json())
    bad = run_cli("audit", "check", "--manifest", str(manifest), str(SAMPLE_AUDIT))
    assert_one_line_error(bad, 1)
    assert "DRIFTED   contracts/Vault.sol" in bad.stdout


def test_local_paths_never_reach_any_output(tmp_path: Path) -> None:
    key = generate_key(KeyKind.ED25519)
    save_private_key(tmp_path / "k.key", key, None)
    sarif = tmp_path / "out.sarif"
    attest = tmp_path / "a.sigstore.json"
    _, manifest = _release(tmp_path)
    outputs = []
    for fmt in ("text", "json"):
        result = run_cli(
            "audit",
            "check",
            "--manifest",
            str(manifest),
            str(BANK),
            str(SLITHER_VAULT),
            "--format",
            fmt,
            "--sarif",
            str(sarif),
            "--attest",
            str(attest),
            "--key",
            str(tmp_path / "k.key"),
        )
        assert result.exit_code == 1, result.stderr
        outputs += [result.stdout, result.stderr, sarif.read_text(), attest.read_text()]
    assert "/home/alice" in BANK.read_text() and "/home/auditor" in SLITHER_VAULT.read_text()
    for text in outputs:
        assert "/home/" not in text and "filename_absolute" not in text


def test_signed_attestation_verifies_and_names_the_audited_bytes(tmp_path: Path) -> None:
    key = generate_key(KeyKind.ED25519)
    save_private_key(tmp_path / "k.key", key, b"pw")
    out = tmp_path / "audit.sigstore.json"
    sarif = tmp_path / "audit.sarif"
    result = run_cli(
        "audit",
        "import",
        str(SAMPLE_AUDIT),
        "--attest",
        str(out),
        "--key",
        str(tmp_path / "k.key"),
        "--sarif",
        str(sarif),
        env={"NEBSIGN_PASSPHRASE": "pw"},
    )
    assert result.exit_code == 0, result.stderr
    stmt = verify_attestation(
        Bundle.from_json(out.read_bytes()), TrustPolicy.from_keys([key.public_key()])
    )
    assert stmt.predicate_type == AUDIT_V1
    assert [(s.name, s.sha256) for s in stmt.subjects] == [("contracts/Vault.sol", VAULT_SHA256)]
    assert stmt.predicate["auditor"] == "Example Security Labs"
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0"
    assert log["runs"][0]["automationDetails"]["id"] == "nebsign/audit/"
    assert len(log["runs"][0]["results"]) == 4


@pytest.mark.parametrize(
    ("args", "content"),
    [
        (["audit", "import", "{f}"], b"not an audit"),
        (["audit", "import", "{f}"], b'{"results": {"detectors": [{"check": 1}]}}'),
        (["audit", "import", "--input-format", "sarif", "{f}"], b"\xff\xfe"),
        (["audit", "import", "--input-format", "contest", "{f}"], b"## [H-01] x\n**Status:** ?\n"),
        (["audit", "import", "{f}", "--attest", "x.json"], b""),
        (["audit", "check", "{f}"], b""),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], content: bytes) -> None:
    f = tmp_path / "input"
    f.write_bytes(content)
    result = run_cli(*[a.replace("{f}", str(f)) for a in args], cwd=tmp_path)
    assert_one_line_error(result, 2)


def test_field_path_is_in_the_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SAMPLE_AUDIT.read_text().replace('severity = "Low"', 'severity = "Spicy"'))
    result = run_cli("audit", "import", str(bad))
    assert_one_line_error(result, 2)
    assert "bad.toml.findings[1].severity: unknown severity label 'Spicy'" in result.stderr


def test_scan_without_node_exits_3_with_the_install_hint(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "A.sol").write_text("contract A {}\n")
    result = run_cli("audit", "scan", "contracts", cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert_one_line_error(result, 3)
    assert "Node.js" in result.stderr and "install" in result.stderr


def test_help_has_examples() -> None:
    for sub in ("import", "check", "scan"):
        result = run_cli("audit", sub, "--help")
        assert result.exit_code == 0 and "Examples:" in result.stdout


def test_audit_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    import jsonschema
    from helpers import SHARED

    schema_path = SHARED / "testdata" / "sarif" / "sarif-schema-2.1.0.json"
    if not schema_path.is_file():
        pytest.skip(f"the SARIF schema is not beside the repository ({schema_path})")
    sarif = tmp_path / "a.sarif"
    result = run_cli(
        "audit",
        "import",
        str(SAMPLE_AUDIT),
        str(BANK),
        str(DATA / "c4-report.md"),
        "--sarif",
        str(sarif),
    )
    assert result.exit_code == 1, result.stderr
    log = json.loads(sarif.read_text())
    jsonschema.validate(log, json.loads(schema_path.read_text()))
    suppressed = [r for r in log["runs"][0]["results"] if r.get("suppressions")]
    assert suppressed  # acknowledged / won't-fix carry a SARIF suppression, fixed ones do not


def test_outputs_through_a_symlink_keep_the_link_as_every_command_does(tmp_path: Path) -> None:
    """`--sarif` is an output file like SAST's: a symlink is followed, never replaced."""
    target = tmp_path / "real.sarif"
    target.write_text("old")
    link = tmp_path / "link.sarif"
    link.symlink_to(target)
    result = run_cli("audit", "import", str(SAMPLE_AUDIT), "--sarif", str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and json.loads(target.read_text())["version"] == "2.1.0"
