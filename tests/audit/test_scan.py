"""``nebsign audit scan``: real Slither on the example contracts through the solc-js wrapper."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from audit.auditkit import DATA, EXAMPLES, scan_tools_or_skip
from helpers import run_cli

from nebsign.audit.scan import scan_contracts
from nebsign.audit.service import load_policy, scan_audit
from nebsign.errors import InputError


@pytest.fixture(autouse=True)
def _tools() -> None:
    scan_tools_or_skip()


def _contracts(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLES / "release" / "contracts", root / "contracts")
    return root


def test_slither_runs_on_the_example_contracts(tmp_path: Path) -> None:
    root = _contracts(tmp_path)
    audit = scan_contracts(root / "contracts", root=root)
    assert {f.rule_id for f in audit.findings} == {"reentrancy-events", "low-level-calls"}
    assert set(audit.tools) == {"slither", "solc-js"}
    assert [s.path for s in audit.scope] == ["contracts/Vault.sol"]
    assert all(f.location.path == "contracts/Vault.sol" for f in audit.findings)
    assert str(tmp_path) not in json.dumps([f.to_dict() for f in audit.findings])


def test_fingerprints_survive_an_unrelated_edit_above_the_finding(tmp_path: Path) -> None:
    root = _contracts(tmp_path)
    before = scan_contracts(root / "contracts", root=root).findings
    vault = root / "contracts" / "Vault.sol"
    text = vault.read_text()
    vault.write_text(
        text.replace(
            "contract Vault {",
            "/// Reviewed 2026-11.\n\ncontract Vault {\n    uint256 public constant VERSION = 2;\n",
        )
    )
    after = scan_contracts(root / "contracts", root=root).findings
    assert [f.location.line for f in after] != [f.location.line for f in before]
    assert {(f.rule_id, f.fingerprint) for f in after} == {
        (f.rule_id, f.fingerprint) for f in before
    }


def test_baseline_accepts_a_finding_by_fingerprint(tmp_path: Path) -> None:
    root = _contracts(tmp_path)
    baseline = tmp_path / "baseline.toml"
    result = run_cli(
        "audit",
        "scan",
        "contracts",
        "--write-baseline",
        str(baseline),
        "--who",
        "alice",
        "--why",
        "reviewed",
        cwd=root,
    )
    assert result.exit_code == 0, result.stderr
    verdict = scan_audit(root / "contracts", load_policy(None), root=root, baseline_path=baseline)
    assert {f.status.value for f in verdict.findings} == {"accepted-risk"}


def test_scan_cli_json_and_failing_policy(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    shutil.copytree(DATA / "bank", root)
    result = run_cli("audit", "scan", "contracts", "--format", "json", cwd=root)
    assert result.exit_code == 1, result.stderr
    out = json.loads(result.stdout)
    assert out["verdict"] == "fail"
    assert {"reentrancy-eth", "suicidal"} <= {f["rule_id"] for f in out["findings"]}
    assert out["subject"] and out["subject"][0]["name"] == "contracts/Bank.sol"


def test_contracts_that_do_not_compile_are_bad_input(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "Broken.sol").write_text("pragma solidity ^0.8.0;\ncontract {\n")
    with pytest.raises(InputError, match="could not analyse"):
        scan_contracts(tmp_path / "c", root=tmp_path)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare not installed")
def test_scan_runs_with_no_network_at_all(tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("network namespaces are not permitted here")
    root = _contracts(tmp_path)
    cmd = [sys.executable, "-m", "nebsign", "audit", "scan", "contracts", "--format", "json"]
    offline = subprocess.run(["unshare", "-rn", *cmd], cwd=root, capture_output=True, check=False)
    assert offline.returncode == 0, offline.stderr[-2000:]
    online = run_cli("audit", "scan", "contracts", "--format", "json", cwd=root)
    assert json.loads(offline.stdout)["findings"] == json.loads(online.stdout)["findings"]
