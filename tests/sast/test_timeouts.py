"""Per-file timeouts: a scanner stuck on one file fails that file only, and the gate."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sast.sastkit import CASES, bandit, default_policy, semgrep

import nebsign.sast.bandit as bandit_mod
import nebsign.sast.semgrep as semgrep_mod
from nebsign.sast.interface import Scanner
from nebsign.sast.runner import run_scan

# A real slow tool: the real scanner's command line behind a launcher that, when the
# batch holds ``slow.py``, starts a helper process (as semgrep's launcher starts its
# core) and then hangs. Otherwise it execs the real scanner unchanged.
HANGING_LAUNCHER = """\
import os, subprocess, sys, time
pidfile, real = sys.argv[1], sys.argv[2:]
if "slow.py" in real:
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(pidfile, "a") as out:
        out.write(f"{os.getpid()} {helper.pid}\\n")
    time.sleep(600)
os.execv(real[0], real)
"""


def _slow(scanner: Scanner, launcher: Path, pidfile: Path) -> Scanner:
    real_argv = scanner.argv

    def argv(files: Sequence[str]) -> list[str]:
        return [sys.executable, str(launcher), str(pidfile), *real_argv(files)]

    scanner.argv = argv  # type: ignore[method-assign]
    # generous for the real tool on a loaded machine; the slow file waits it out
    scanner.startup_budget = 10.0
    scanner.per_file_timeout = 1.0
    return scanner


def _dead(pid: int) -> bool:
    """The process is gone or a zombie (killed, not yet reaped by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


def _wait_dead(pid: int) -> bool:
    for _ in range(100):  # a SIGKILLed process dies at once; init may reap it later
        if _dead(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("module", [bandit_mod, semgrep_mod])
def test_timeout_is_isolated_to_the_slow_file(module: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pickle-load.py", "yaml-unsafe-load.py"):
        shutil.copy(CASES / name, src / name)
    (src / "slow.py").write_text("x = 1\n")
    launcher = tmp_path / "launcher.py"
    launcher.write_text(HANGING_LAUNCHER)
    pidfile = tmp_path / "pids"
    scanner = _slow(bandit() if module is bandit_mod else semgrep(), launcher, pidfile)
    scanner.jobs = 1  # one shard of all three: it times out, then each file runs alone
    files = ["pickle-load.py", "slow.py", "yaml-unsafe-load.py"]
    result = scanner.scan(src, files)
    assert [(e.path, "timed out" in e.message) for e in result.errors] == [("slow.py", True)]
    assert set(result.hits) == {"pickle-load.py", "yaml-unsafe-load.py"}
    assert all(result.hits[f] for f in result.hits)  # real results for the others
    # the batch with slow.py and slow.py alone each hung once, and each hung tool was
    # killed with every process it started
    runs = [tuple(map(int, line.split())) for line in pidfile.read_text().splitlines()]
    assert len(runs) == 2
    for launcher_pid, helper_pid in runs:
        assert _wait_dead(launcher_pid), f"the timed-out tool {launcher_pid} still runs"
        assert _wait_dead(helper_pid), f"the timed-out tool's child {helper_pid} still runs"

    scanner.jobs = 3  # now one shard per file, side by side: only slow.py's times out
    outcome = run_scan(src, files, [scanner])
    assert [e.path for e in outcome.errors] == ["slow.py"]
    assert {f.location.path for f in outcome.findings} == {"pickle-load.py", "yaml-unsafe-load.py"}
    verdict = default_policy().evaluate(outcome, None, date(2026, 1, 1))
    assert not verdict.passed and verdict.errors_fail
    assert "1 file(s) could not be scanned" in verdict.reason()


def test_syntax_error_is_a_scanner_error_not_a_clean_file(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    outcome = run_scan(tmp_path, ["broken.py", "ok.py"], [bandit(), semgrep()])
    assert {e.path for e in outcome.errors} == {"broken.py"}
    assert not default_policy().evaluate(outcome, None, date(2026, 1, 1)).passed
