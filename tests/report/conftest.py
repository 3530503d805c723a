"""Fixtures for the report tests: a real key, its trust policy, a release with every type."""

from __future__ import annotations

from pathlib import Path

import pytest
from report import reportkit as kit

from nebsign.keys import PrivateKey, generate_key


@pytest.fixture(scope="session")
def key() -> PrivateKey:
    return generate_key()


@pytest.fixture
def policy_file(tmp_path: Path, key: PrivateKey) -> Path:
    return kit.write_policy(tmp_path / "trust.toml", key)


@pytest.fixture
def release(tmp_path: Path, key: PrivateKey) -> Path:
    return kit.make_release(tmp_path / "rel", key, kit.all_types())
