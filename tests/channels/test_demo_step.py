"""The channels demo step: ungated global promotion refused, then allowed, then a fleet rollback."""

from __future__ import annotations

from pathlib import Path

from nebsign._demo import STEPS, DemoContext
from nebsign._demo import channels as step
from nebsign._internal.resources import data_path


def test_demo_step(tmp_path: Path) -> None:
    assert "nebsign._demo.channels" in STEPS
    ctx = DemoContext(tmp_path, data_path("examples"))
    lines = list(step.run(ctx))
    text = "\n".join(lines)
    assert "promoted 1.4.2 to global (#1; gates: canary, regional)" in text
    assert "3 global hosts polled: installed 1.4.2 (#1)" in text
    assert "promote 1.4.3 to global without gates: refused (exit 1): no passing canary" in text
    assert "3 global hosts polled: installed 1.4.3 (#2)" in text
    assert lines[-1] == "3 global hosts polled: switched 1.4.2 (#3)"
