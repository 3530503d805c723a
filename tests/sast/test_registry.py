"""A new scanner kind is one module and one registry line (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nebsign.errors import InputError
from nebsign.policy.sast import SCANNERS, SastPolicy
from nebsign.sast.scan import ScanRequest, scan_sast
from nebsign.sast.targets import build_scanners


def _policy(tmp_path: Path, scanners: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(f"[sast]\nscanners = {scanners}\n")
    return path


def test_a_registered_test_scanner_runs_in_a_real_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SCANNERS, "grep", "sast.grepscanner:GrepScanner")
    root = tmp_path / "app"
    root.mkdir()
    (root / "m.py").write_text("def f(text):\n    return eval(text)\n")
    (root / "ok.py").write_text("def g(text):\n    return len(text)\n")
    request = ScanRequest(
        root=root, policy_path=_policy(tmp_path, '["grep"]'), use_cache=False, jobs=1
    )
    verdict, _ = scan_sast(request)
    assert not verdict.passed
    assert [(f.tool, f.rule_id, f.location.path, f.location.line) for f in verdict.failing] == [
        ("grep", "grep-eval", "m.py", 2)
    ]
    assert set(verdict.outcome.tools) == {"grep"}
    # its own suppression comment is honoured like bandit's and semgrep's
    (root / "m.py").write_text("def f(text):\n    return eval(text)  # nogrep\n")
    again, _ = scan_sast(request)
    assert again.passed and [s.tool for s in again.outcome.suppressed] == ["grep"]


def test_an_unregistered_name_is_refused_and_registered_ones_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="'bandit', 'semgrep'"):
        SastPolicy.from_toml(b'[sast]\nscanners = ["grep"]\n')
    monkeypatch.setitem(SCANNERS, "grep", "sast.grepscanner:GrepScanner")
    policy = SastPolicy.from_toml(b'[sast]\nscanners = ["grep", "bandit"]\n')
    from nebsign._internal.resources import data_path

    built = build_scanners(policy, data_path("policies"), jobs=1)
    assert [type(s).__name__ for s in built] == ["GrepScanner", "BanditScanner"]
