"""The release demo step runs offline on the bundled example, installs, and shows a refusal."""

from __future__ import annotations

from pathlib import Path

from nebsign._demo import STEPS, DemoContext
from nebsign._demo import release as step
from nebsign._internal.resources import data_path


def test_demo_step(tmp_path: Path) -> None:
    assert "nebsign._demo.release" in STEPS
    ctx = DemoContext(tmp_path, data_path("examples"))
    lines = list(step.run(ctx))
    text = "\n".join(lines)
    for name in ("sast", "dast", "audit", "gate-staging", "gate-canary"):
        assert f"{name}: PASS" in text
    assert "5 signed attestations, index.json for HTTP" in text
    assert "public report rendered from the verified release, signed" in text
    assert "agent install (requires sast, dast, audit and gate to pass): installed" in text
    assert "current -> releases/1.4.3" in text
    assert "stopped at sast (exit 1), nothing published" in text
    assert "orders.py" in lines[-1]
    assert (ctx.values["release_host"] / "current" / "payload" / "app" / "run.sh").is_file()
