"""Scanners run offline: no outbound connection, and identical results with no network."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, run_cli
from sast.sastkit import CASES, case_files, semgrep

from nebsign.sast.interface import Hit
from nebsign.sast.semgrep import SemgrepEngine

VULN = REPO / "examples" / "vulnerable"
CMD = [sys.executable, "-m", "nebsign", "scan", "sast", "--no-cache", "--format", "json"]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_scan_makes_no_outbound_connection(tmp_path: Path) -> None:
    log = tmp_path / "trace"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=execve,connect,sendto,sendmsg", "-o", str(log), *CMD],
        cwd=VULN,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    calls = log.read_text()
    # both scanners really ran under the trace
    assert re.search(r'execve\("[^"]*bandit"', calls) and re.search(r'execve\("[^"]*semgrep', calls)
    inet = [line for line in calls.splitlines() if re.search(r"AF_INET6?\b", line)]
    assert inet == [], inet[:5]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare not installed")
def test_scan_without_any_network_gives_the_same_result() -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not permitted here")
    offline = subprocess.run(["unshare", "-rn", *CMD], cwd=VULN, capture_output=True, check=False)
    online = run_cli("scan", "sast", "--no-cache", "--format", "json", cwd=VULN)
    assert offline.returncode == 1, offline.stderr[-2000:]
    assert offline.stdout == online.stdout_bytes


def _by_file(engine: SemgrepEngine, root: Path, files: list[str]) -> dict[str, list[Hit]]:
    result = semgrep(engine).scan(root, files)
    assert result.errors == []
    return {
        path: sorted(hits, key=lambda h: (h.line, h.column or 0, h.rule_id))
        for path, hits in result.hits.items()
    }


def test_native_engine_matches_the_python_launcher_on_every_rule() -> None:
    """The evidence for semgrep_engine = "native" (docs/adr/0003-sast.md)."""
    sources = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "nebsign").rglob("*.py"))
    for root, files in (
        (CASES, case_files()),
        (REPO, [*sources, "examples/vulnerable/admin.py", "examples/vulnerable/price_feed.py"]),
    ):
        native = _by_file(SemgrepEngine.NATIVE, root, files)
        python = _by_file(SemgrepEngine.PYTHON, root, files)
        assert native == python
    rules = {
        h.rule_id
        for hits in _by_file(SemgrepEngine.NATIVE, CASES, case_files()).values()
        for h in hits
    }
    assert rules == {p.stem for p in CASES.glob("*.py")}
