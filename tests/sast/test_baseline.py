"""The baseline: line shifts stay accepted, duplicates and expiry fail, fixed is reported."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sast.sastkit import bandit, default_policy, semgrep

from nebsign.baseline import Baseline, render_baseline
from nebsign.errors import InputError
from nebsign.findings import Status
from nebsign.policy.sast import SastVerdict
from nebsign.sast.runner import run_scan

CODE = "import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n"
TODAY = date(2026, 6, 1)


def _judge(root: Path, baseline: Baseline | None) -> SastVerdict:
    outcome = run_scan(root, ["m.py"], [bandit(), semgrep()])
    return default_policy().evaluate(outcome, baseline, TODAY)


def _accept(root: Path, until: date | None = date(2026, 12, 31)) -> Baseline:
    first = _judge(root, None)
    assert not first.passed
    raw = render_baseline(
        first.failing, who="alice@example.com", why='legacy "loader"', until=until
    )
    return Baseline.from_toml(raw)


def test_line_shift_stays_accepted(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CODE)
    baseline = _accept(tmp_path)
    assert _judge(tmp_path, baseline).passed
    (tmp_path / "m.py").write_text(
        "import os\n\n# header\n" + CODE.replace("    return", "\n    return")
    )
    verdict = _judge(tmp_path, baseline)
    assert verdict.passed, verdict.reason()
    accepted = [f for f in verdict.findings if f.status is Status.ACCEPTED_RISK]
    assert accepted and accepted[0].status_note is not None
    assert accepted[0].status_note.who == "alice@example.com"
    assert accepted[0].status_note.why == 'legacy "loader"'
    assert not verdict.fixed


def test_duplicate_of_an_accepted_finding_fails(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CODE)
    baseline = _accept(tmp_path)
    (tmp_path / "m.py").write_text(CODE + "\n\ndef load2(text):\n    return yaml.load(text)\n")
    verdict = _judge(tmp_path, baseline)
    assert not verdict.passed
    assert len(verdict.failing) == 1
    assert verdict.failing[0].location.line == 9


def test_expired_acceptance_fails_again(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CODE)
    baseline = _accept(tmp_path, until=date(2026, 5, 31))
    verdict = _judge(tmp_path, baseline)
    assert not verdict.passed
    assert "acceptance_expired" in verdict.failing[0].properties
    still = _accept(tmp_path, until=TODAY)  # valid through its last day
    assert _judge(tmp_path, still).passed


def test_fixed_finding_is_reported_as_fixed(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(CODE)
    baseline = _accept(tmp_path)
    (tmp_path / "m.py").write_text(CODE.replace("yaml.load(text)", "yaml.safe_load(text)"))
    verdict = _judge(tmp_path, baseline)
    assert verdict.passed
    assert [e.fingerprint for e in verdict.fixed] == [e.fingerprint for e in baseline.entries]
    assert verdict.counts()["baseline_fixed"] == 1


@pytest.mark.parametrize(
    "text",
    [
        b"[[finding]]\nfingerprint = 'x'\nwho = 'a'\nwhy = 'b'\n",
        b"[[finding]]\nfingerprint = '" + b"a" * 64 + b"'\nwho = ''\nwhy = 'b'\n",
        b"[[finding]]\nfingerprint = '" + b"a" * 64 + b"'\nwho = 'a'\nwhy = 'b'\nstatus = 'open'\n",
        b"[[finding]]\nfingerprint = '" + b"a" * 64 + b"'\nwho = 'a'\nwhy = 'b'\nuntil = 'soon'\n",
        b"[[finding]]\nfingerprint = '" + b"a" * 64 + b"'\nwho = 'a'\nwhy = 'b'\nextra = 1\n",
        b"finding = 3\n",
        b"other = 1\n",
    ],
)
def test_bad_baselines_are_input_errors(text: bytes) -> None:
    with pytest.raises(InputError):
        Baseline.from_toml(text)


@settings(max_examples=150, deadline=None)
@given(
    who=st.text(max_size=20),
    why=st.text(max_size=40),
    fp=st.text(alphabet="0123456789abcdefg", min_size=60, max_size=66),
    until=st.one_of(st.none(), st.text(max_size=12), st.dates().map(str)),
)
def test_untrusted_baseline_never_crashes(who: str, why: str, fp: str, until: str | None) -> None:
    import json

    text = f"[[finding]]\nfingerprint = {json.dumps(fp)}\n"
    text += f"who = {json.dumps(who)}\nwhy = {json.dumps(why)}\n"
    if until is not None:
        text += (
            f"until = {until if until[:1].isdigit() and len(until) == 10 else json.dumps(until)}\n"
        )
    with contextlib.suppress(InputError):
        Baseline.from_toml(text.encode())
