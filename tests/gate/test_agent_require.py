"""The agent's host policy can require a passing gate: the existing ``[[require]]``
mechanism with ``predicate_type = "gate"`` and ``verdict = "pass"`` (global hosts install
only after a passing canary gate). Real keys, a real gate result, a real install."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gatekit import EXAMPLES, REPO, default_policy

from nebsign.attest import Subject
from nebsign.digest import sha256_bytes
from nebsign.errors import NebsignError
from nebsign.gate.report import predicate, statement
from nebsign.gate.run import run_canary
from nebsign.signing import sign_statement

sys.path.insert(0, str(REPO / "tests" / "agent"))
from agentkit import ReleaseKit

REQUIRE_GATE = '\n[[require]]\npredicate_type = "gate"\nverdict = "pass"\n'


def _add_gate(kit: ReleaseKit, release: Path, metrics: str) -> str:
    raw = (EXAMPLES / metrics).read_bytes()
    result = run_canary([(metrics, raw)], default_policy())
    pred = predicate(
        result,
        policy_digest="sha256:" + "0" * 64,
        inputs=[("metrics", raw)],
        tools={},
        decided_at=datetime(2026, 1, 1, 5, tzinfo=UTC),
    )
    manifest_sha = sha256_bytes((release / "release.json").read_bytes())
    stmt = statement(pred, [Subject("release.json", manifest_sha)])
    (release / "attestations" / "gate.sigstore.json").write_bytes(
        sign_statement(stmt, kit.key).to_json()
    )
    index = json.loads((release / "index.json").read_text())
    index["attestations"].append("attestations/gate.sigstore.json")
    (release / "index.json").write_text(json.dumps(index))
    return result.verdict.value


@pytest.fixture
def kit(tmp_path: Path) -> ReleaseKit:
    return ReleaseKit(tmp_path, extra_policy=REQUIRE_GATE)


def test_passing_canary_gate_installs(kit: ReleaseKit) -> None:
    from nebsign.agent.install import InstallStatus, install_release

    release = kit.build("1.0.0")
    assert _add_gate(kit, release, "canary-pass.om") == "pass"
    out = install_release(kit.policy(), str(release))
    assert out.status is InstallStatus.INSTALLED


def test_no_gate_attestation_is_refused(kit: ReleaseKit) -> None:
    from nebsign.agent.install import install_release

    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(kit.build("1.0.0")))
    assert info.value.exit_code == 1
    assert "gate/v1" in info.value.message and "'pass'" in info.value.message


def test_failing_canary_gate_is_refused(kit: ReleaseKit) -> None:
    from nebsign.agent.install import install_release

    release = kit.build("1.0.0")
    assert _add_gate(kit, release, "canary-fail.om") == "fail"
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(release))
    assert "found verdicts ['fail']" in info.value.message
