"""The DAST demo step: the sample shop on loopback is refused, its fixed twin passes."""

from __future__ import annotations

import threading
from pathlib import Path

from nebsign._demo import STEPS, DemoContext
from nebsign._demo import dast as step
from nebsign._internal.resources import data_path


def test_demo_step(tmp_path: Path) -> None:
    assert "nebsign._demo.dast" in STEPS
    before = threading.active_count()
    ctx = DemoContext(tmp_path, data_path("examples"))
    text = "\n".join(step.run(ctx))
    assert "refused (exit 1): DAST policy failed" in text
    for rule in ("xss-reflected", "sqli-error", "open-redirect"):
        assert rule in text
    assert "verdict: PASS" in text
    assert not ctx.values["dast_verdict_vulnerable"].passed
    fixed = ctx.values["dast_verdict_fixed"]
    assert fixed.passed and list(fixed.findings) == []
    assert threading.active_count() <= before  # the sample service was stopped
