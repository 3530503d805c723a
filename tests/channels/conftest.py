"""Fixtures for channel tests; the kit itself is in channelkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from channelkit import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)
