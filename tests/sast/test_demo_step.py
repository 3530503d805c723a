"""The SAST demo step runs offline, passes the release and catches the vulnerable example."""

from __future__ import annotations

from pathlib import Path

from nebsign._demo import STEPS, DemoContext
from nebsign._demo import sast as step
from nebsign._internal.resources import data_path


def test_demo_step(tmp_path: Path) -> None:
    assert "nebsign._demo.sast" in STEPS
    ctx = DemoContext(tmp_path, data_path("examples"))
    lines = list(step.run(ctx))
    text = "\n".join(lines)
    assert "verdict: PASS" in text
    assert "refused (exit 1): SAST policy failed" in text
    assert "sql-built-from-strings" in text and "inline suppressions counted: 1" in text
    assert "identical findings: True" in text
    assert ctx.values["sast_verdict"].passed
