"""A gate from files: one path for `nebsign gate` and `nebsign release`'s gate steps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from gatekit import EXAMPLES

from nebsign.attest import Subject
from nebsign.digest import sha256_bytes
from nebsign.gate.files import gate_canary, gate_staging, load_gates_policy
from nebsign.gate.model import GateFailed, Verdict

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_passing_canary_names_each_metrics_file_as_a_subject() -> None:
    path = EXAMPLES / "canary-pass.om"
    run = gate_canary([path], load_gates_policy(None), decided_at=AT)
    assert run.result.verdict is Verdict.PASS
    run.raise_for_verdict()
    assert run.subjects() == [
        Subject("gate-metrics:metrics:canary-pass.om", sha256_bytes(path.read_bytes()))
    ]
    assert run.predicate["decided_at"] == "2026-06-01T12:00:00Z"
    assert [i["role"] for i in run.predicate["inputs"]] == ["metrics:canary-pass.om"]


def test_the_release_manifest_is_the_subject_when_given(tmp_path: Path) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_bytes(b"{}")
    run = gate_canary([EXAMPLES / "canary-pass.om"], load_gates_policy(None), decided_at=AT)
    assert run.subjects(manifest) == [Subject("release.json", sha256_bytes(b"{}"))]


def test_a_failing_staging_gate_is_exit_1_with_its_inputs_named_by_role() -> None:
    run = gate_staging(
        [EXAMPLES / "staging-baseline.json"],
        [EXAMPLES / "staging-current-fail.json"],
        load_gates_policy(None),
        decided_at=AT,
    )
    assert run.result.verdict is Verdict.FAIL
    assert [r for r, _ in run.inputs] == [
        "baseline:staging-baseline.json",
        "current:staging-current-fail.json",
    ]
    with pytest.raises(GateFailed) as failed:
        run.raise_for_verdict(allow_inconclusive=True)
    assert failed.value.exit_code == 1
