"""Shared helpers for the signing tests: the golden assets."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

from nebsign.bundle import Bundle
from nebsign.policy.trust import TrustPolicy

ASSETS = Path(__file__).resolve().parent.parent / "assets"
GOLDEN = ASSETS / "golden"
ARTIFACT_SHA = hashlib.sha256((GOLDEN / "artifact.bin").read_bytes()).hexdigest()
KEY_IDS: dict[str, str] = json.loads((GOLDEN / "keys" / "ids.json").read_text())


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nebsign_asset_generator", ASSETS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def golden_bundle(name: str) -> Bundle:
    return Bundle.from_json((GOLDEN / name).read_bytes())


def artifact_bundle(signer: str) -> Bundle:
    return golden_bundle(f"artifact.bin.{signer}.sigstore.json")


def golden_policy(name: str) -> TrustPolicy:
    return TrustPolicy.from_toml((GOLDEN / name).read_bytes(), GOLDEN)
