"""Fixtures for the SAST tests: real bandit and semgrep, nebsign's own rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sast.sastkit import CASES, bandit, case_files, git, semgrep

from nebsign.sast.runner import ScanOutcome, run_scan


@pytest.fixture(scope="session")
def cases_outcome() -> ScanOutcome:
    """One real scan (both tools) of every rule case file, shared by many tests."""
    return run_scan(CASES, case_files(), [bandit(), semgrep()])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project: one clean module and a copy of the vulnerable example."""
    root = tmp_path / "project"
    root.mkdir()
    src = Path(__file__).resolve().parents[2] / "examples" / "vulnerable"
    shutil.copytree(src, root / "svc")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    git(root, "config", "commit.gpgsign", "false")
    (root / "README.md").write_text("demo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    return root
