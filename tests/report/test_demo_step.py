"""The report demo step: runs last, builds, verifies and refuses; reports/ is what it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO

from nebsign._demo import STEPS, DemoContext, foundation, sast
from nebsign._demo import report as step
from nebsign._internal.resources import data_path


def test_demo_step_builds_the_committed_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert STEPS[-1] == "nebsign._demo.report"
    monkeypatch.setenv(step.REPORTS_ENV, str(tmp_path / "reports"))
    ctx = DemoContext(tmp_path / "work", data_path("examples"))
    ctx.workdir.mkdir()
    for earlier in (foundation, sast):
        list(earlier.run(ctx))
    lines = list(step.run(ctx))
    text = "\n".join(lines)
    assert "built twice: byte-identical: True" in text
    assert "report verify: signature by" in text and "refused" in text
    out = tmp_path / "reports" / "exchange-api-1.4.2"
    assert ctx.values["report_path"] == out / "index.html"
    assert lines[-1] == f"open it: {out / 'index.html'}"
    assert (tmp_path / "reports" / "example-trust.toml").read_bytes() == (
        REPO / "reports" / "example-trust.toml"
    ).read_bytes()
    committed = REPO / "reports" / "exchange-api-1.4.2"
    for name in ("index.html", "report.md", "report.json", "report.json.sigstore.json"):
        assert (out / name).read_bytes() == (committed / name).read_bytes(), (
            f"reports/exchange-api-1.4.2/{name} is stale: run `nebsign demo` to regenerate it"
        )
