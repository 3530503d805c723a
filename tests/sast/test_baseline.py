"""The baseline: line shifts stay accepted, duplicates and expiry fail, fixed is reported."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sast.sastkit import bandit, default_policy, semgrep

from nebsign.baseline import Baseline, render_baseline
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source, Status
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


_FP_HEX = re.compile(r"[0-9a-f]{64}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _toml_basic(text: str) -> str:
    """A TOML basic string, from the TOML spec (not nebsign's writer)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return _ISO_DATE.fullmatch(text) is not None


@settings(max_examples=300, deadline=None)
@given(
    who=st.text(max_size=20),
    why=st.text(max_size=40),
    fp=st.one_of(
        st.text(alphabet="0123456789abcdefg", min_size=60, max_size=66),
        st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    ),
    rule=st.text(max_size=8),
    path=st.text(max_size=12),
    status=st.sampled_from([None, "accepted-risk", "false-positive", "acknowledged", "open", "x"]),
    until=st.one_of(st.none(), st.text(max_size=12), st.dates().map(str)),
)
def test_untrusted_baseline_never_crashes(
    who: str, why: str, fp: str, rule: str, path: str, status: str | None, until: str | None
) -> None:
    text = f"[[finding]]\nfingerprint = {_toml_basic(fp)}\n"
    text += f"rule = {_toml_basic(rule)}\npath = {_toml_basic(path)}\n"
    text += f"who = {_toml_basic(who)}\nwhy = {_toml_basic(why)}\n"
    if status is not None:
        text += f"status = {_toml_basic(status)}\n"
    until_is_date = until is not None and _is_date(until)
    if until is not None:
        text += f"until = {until if until_is_date else _toml_basic(until)}\n"
    # the oracle, from the baseline's documentation: every field a non-empty string,
    # a 64-hex fingerprint, an accepting status, `until` a TOML date
    valid = (
        all(v.strip() for v in (who, why, rule, path))
        and _FP_HEX.fullmatch(fp) is not None
        and status in {None, "accepted-risk", "false-positive", "acknowledged"}
        and (until is None or until_is_date)
    )
    try:
        baseline = Baseline.from_toml(text.encode())
    except InputError:
        assert not valid, text
        return
    assert valid, text
    (entry,) = baseline.entries
    assert (entry.fingerprint, entry.rule, entry.path, entry.who, entry.why) == (
        fp,
        rule,
        path,
        who,
        why,
    )
    assert entry.status is Status(status or "accepted-risk")
    assert entry.until == (None if until is None else date.fromisoformat(until))
    # what --write-baseline renders for the same acceptance reads back as the same entry
    finding = Finding(
        source=Source.SAST,
        tool="bandit",
        rule_id=rule,
        severity=Severity.LOW,
        confidence=Confidence.LOW,
        title="t",
        message="m",
        location=Location(path=path, line=1),
        fingerprint=fp,
    )
    rendered = Baseline.from_toml(render_baseline([finding], who=who, why=why, until=entry.until))
    assert rendered.entries == (replace(entry, status=Status.ACCEPTED_RISK),)
