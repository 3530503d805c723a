"""Fixtures for CLI tests: a signing key pair on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from nebsign.keys import generate_key, private_key_pem, public_key_pem


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    key = generate_key()
    priv, pub = tmp_path / "release.key", tmp_path / "release.pub"
    priv.write_bytes(private_key_pem(key, None))
    pub.write_bytes(public_key_pem(key.public_key()))
    return priv, pub
