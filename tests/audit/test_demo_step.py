"""The audit demo step: sample audit imported, attestation verified, drift caught."""

from __future__ import annotations

from pathlib import Path

from nebsign._demo import STEPS, DemoContext
from nebsign._demo import audit as step
from nebsign._internal.resources import data_path


def test_demo_step(tmp_path: Path) -> None:
    assert "nebsign._demo.audit" in STEPS
    ctx = DemoContext(tmp_path, data_path("examples"))
    text = "\n".join(step.run(ctx))
    assert "Acknowledged -> acknowledged" in text and "Resolved -> fixed" in text
    assert "fixed: 1 of 4" in text
    assert "1 of 1 contract file(s) ship the audited SHA-256 -> PASS" in text
    assert "signed AUDIT_V1 attestation about contracts/Vault.sol; verified: pass" in text
    assert "local paths in output: none" in text
    assert "DRIFTED   contracts/Vault.sol" in text
    assert "UNCOVERED contracts/Bridge.sol" in text
    assert "refused (exit 1): audit policy failed" in text
    # the bundled example itself is untouched
    assert "require(ok, " in (data_path("examples") / "release/contracts/Vault.sol").read_text()
