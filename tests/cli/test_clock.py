"""SOURCE_DATE_EPOCH is read one way by every command that stamps a time into what it signs."""

from __future__ import annotations

import pytest
from helpers import REPO, assert_one_line_error, run_cli

CANARY_OK = str(REPO / "examples" / "metrics" / "canary-pass.om")


@pytest.mark.parametrize("epoch", ["soon", "-1", "1e9", "99999999999999"])
def test_a_malformed_source_date_epoch_is_exit_2(epoch: str) -> None:
    gate = run_cli("gate", "canary", "--metrics", CANARY_OK, env={"SOURCE_DATE_EPOCH": epoch})
    assert_one_line_error(gate, 2)
    assert "SOURCE_DATE_EPOCH" in gate.stderr


def test_source_date_epoch_is_the_gate_decision_time() -> None:
    result = run_cli(
        "gate", "canary", "--metrics", CANARY_OK, "--format", "json",
        env={"SOURCE_DATE_EPOCH": "1767225600"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert '"decided_at": "2026-01-01T00:00:00Z"' in result.stdout
