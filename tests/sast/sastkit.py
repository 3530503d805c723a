"""Shared helpers of the SAST tests (import as ``from sast.sastkit import ...``)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from nebsign._internal.resources import data_path
from nebsign.policy.sast import SastPolicy
from nebsign.sast.bandit import BanditScanner
from nebsign.sast.semgrep import SemgrepEngine, SemgrepScanner

CASES = Path(__file__).resolve().parent / "cases"
POLICIES = data_path("policies")
ANNOTATION = re.compile(r"#\s*(ruleid|ok):\s*([\w-]+)")


def annotations(path: Path) -> tuple[set[int], set[int]]:
    """(lines that must be flagged, lines that must not) by the file's rule."""
    expected: set[int] = set()
    clean: set[int] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = ANNOTATION.search(line)
        if match:
            (expected if match.group(1) == "ruleid" else clean).add(number + 1)
    return expected, clean


def bandit() -> BanditScanner:
    return BanditScanner(POLICIES / "bandit.yaml", jobs=2)


def semgrep(engine: SemgrepEngine = SemgrepEngine.NATIVE) -> SemgrepScanner:
    return SemgrepScanner(POLICIES / "semgrep", engine=engine, jobs=2)


def default_policy() -> SastPolicy:
    return SastPolicy.from_toml((POLICIES / "default.toml").read_bytes())


def case_files() -> list[str]:
    return sorted(p.name for p in CASES.glob("*.py"))


def git(
    repo: Path, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **(env or {})},
    )
