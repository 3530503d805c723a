"""Test helpers importable from every test module: ``from helpers import run_cli``."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# the shared test data beside the repository; NEBSIGN_SHARED names it elsewhere (a worktree)
SHARED = Path(os.environ.get("NEBSIGN_SHARED") or REPO.parent / "shared")
NEBSIGN = [sys.executable, "-m", "nebsign"]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


def run_cli(
    *args: str,
    input: bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Result:
    """Run ``python -m nebsign ARGS`` as a real process."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [*NEBSIGN, *args],
        input=input,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return Result(
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
        proc.stdout,
    )


def assert_one_line_error(result: Result, code: int) -> None:
    """The exit code is *code* and stderr is one error line, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nebsign: error: "), lines[0]
