"""Per-file timeouts: a scanner stuck on one file fails that file only, and the gate."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sast.sastkit import CASES, bandit, default_policy, semgrep

import nebsign.sast.bandit as bandit_mod
import nebsign.sast.interface as interface
import nebsign.sast.semgrep as semgrep_mod
from nebsign.sast.runner import run_scan


def _stuck_on(name: str, real: Any) -> Any:
    """run_tool that behaves as a timeout whenever *name* is in the batch (forces a failure)."""

    def run_tool(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes] | None:
        if name in argv:
            return None
        return real(argv, **kw)

    return run_tool


@pytest.mark.parametrize("module", [bandit_mod, semgrep_mod])
def test_timeout_is_isolated_to_the_slow_file(
    module: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("pickle-load.py", "weak-hash.py", "yaml-unsafe-load.py"):
        shutil.copy(CASES / name, tmp_path / name)
    # Both scanners run their tool through the shared Scanner base.
    monkeypatch.setattr(interface, "run_tool", _stuck_on("weak-hash.py", interface.run_tool))
    scanner = bandit() if module is bandit_mod else semgrep()
    files = ["pickle-load.py", "weak-hash.py", "yaml-unsafe-load.py"]
    result = scanner.scan(tmp_path, files)
    assert [(e.path, "timed out" in e.message) for e in result.errors] == [("weak-hash.py", True)]
    assert set(result.hits) == {"pickle-load.py", "yaml-unsafe-load.py"}
    assert all(result.hits[f] for f in result.hits)  # real results for the others

    outcome = run_scan(tmp_path, files, [scanner])
    verdict = default_policy().evaluate(outcome, None, date(2026, 1, 1))
    assert not verdict.passed and verdict.errors_fail
    assert "1 file(s) could not be scanned" in verdict.reason()


def test_syntax_error_is_a_scanner_error_not_a_clean_file(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    outcome = run_scan(tmp_path, ["broken.py", "ok.py"], [bandit(), semgrep()])
    assert {e.path for e in outcome.errors} == {"broken.py"}
    assert not default_policy().evaluate(outcome, None, date(2026, 1, 1)).passed
