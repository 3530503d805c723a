"""Fixtures for the release tests: the release check (the agent's release kit) and
``nebsign release`` (an encrypted key, a copy of the example, one SAST cache per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agent"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agentkit import ReleaseKit
from releasekit import copy_example, make_key


@pytest.fixture
def kit(tmp_path: Path) -> ReleaseKit:
    return ReleaseKit(tmp_path)


@pytest.fixture(scope="session")
def sast_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SAST cache for the session: the scanners still run for real on every new file."""
    return tmp_path_factory.mktemp("sast-cache")


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return make_key(tmp_path)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "example")
