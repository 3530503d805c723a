"""Helpers for the gate tests: the bundled policy, the sample-metrics generator."""

from __future__ import annotations

import importlib.util
import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from nebsign.gate.policy import GatesPolicy, parse_gates_policy

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "metrics"
SCHEMA = "https://nebsign.dev/metrics/v1"


def default_policy() -> GatesPolicy:
    return parse_gates_policy((REPO / "policies" / "default.toml").read_bytes())


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nebsign_metrics_gen", EXAMPLES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runs_json(runs: dict[str, list[str] | list[float]]) -> bytes:
    """nebsign metrics JSON with the values written exactly as given."""
    series = []
    for name, values in runs.items():
        text = ", ".join(str(v) for v in values)
        series.append(f'{{"name": {json.dumps(name)}, "type": "gauge", "samples": [{text}]}}')
    return f'{{"schema": "{SCHEMA}", "series": [{", ".join(series)}]}}'.encode()


def D(text: str | int) -> Decimal:
    return Decimal(text)
