"""The gates demo step runs offline on the bundled metrics: a pass and a fail of each gate."""

from __future__ import annotations

from pathlib import Path

from nebsign._demo import STEPS, DemoContext
from nebsign._demo import gates as step
from nebsign._internal.resources import data_path


def test_demo_step(tmp_path: Path) -> None:
    assert "nebsign._demo.gates" in STEPS
    ctx = DemoContext(tmp_path, data_path("examples"))
    lines = list(step.run(ctx))
    text = "\n".join(lines)
    assert "staging-current-pass.json (20 runs vs 20, tolerance 5%): PASS" in text
    assert "staging-current-fail.json" in text
    assert "FAIL, refused (exit 1): order_match_latency_p99_us" in text
    assert "canary-pass.om (4.17 h of samples): PASS" in text
    assert "canary-fail.om (4.17 h of samples): FAIL, refused (exit 1): http_5xx" in text
    assert "signed canary gate (pass" in text and ": verified" in text
    assert ctx.values["gate_attestation_path"].is_file()
