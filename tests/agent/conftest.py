"""Fixtures for agent tests; the kit itself is in agentkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agentkit import ReleaseKit


@pytest.fixture
def kit(tmp_path: Path) -> ReleaseKit:
    return ReleaseKit(tmp_path)
