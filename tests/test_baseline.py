"""The baseline for any source: one file format, each entry's claims checked per finding."""

from __future__ import annotations

from datetime import date

import pytest

from nebsign.baseline import Baseline, render_baseline
from nebsign.errors import InputError
from nebsign.findings import Confidence, Finding, Location, Severity, Source, Status

TODAY = date(2026, 6, 1)


def _finding(source: Source, rule: str, location: Location, fp: str) -> Finding:
    return Finding(
        source=source,
        tool="t",
        rule_id=rule,
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        title=rule,
        message=rule,
        location=location,
        fingerprint=fp * 64,
    )


DAST = _finding(
    Source.DAST, "sqli-error", Location(url="http://h/app", parameter="q", method="GET"), "a"
)
SAST = _finding(Source.SAST, "B608", Location(path="app/db.py", line=3), "b")
AUDIT = _finding(Source.AUDIT, "reentrancy", Location(url="slither:reentrancy"), "c")


def test_written_baselines_accept_what_they_were_written_for_in_every_source() -> None:
    raw = render_baseline([DAST, SAST, AUDIT], who="a@b", why="known", until=None)
    baseline = Baseline.from_toml(raw)
    matched, fixed = baseline.match([DAST, SAST, AUDIT], TODAY)
    assert [f.status for f in matched] == [Status.ACCEPTED_RISK] * 3 and not fixed
    # a URL-located finding's entry names no file; a file finding's names rule and path
    assert "path" not in baseline.get(DAST).to_dict()  # type: ignore[union-attr]
    assert baseline.get(SAST).to_dict()["path"] == "app/db.py"  # type: ignore[union-attr]
    sast_only = render_baseline([SAST], who="a@b", why="known", until=None)
    assert Baseline.from_toml(sast_only, source=Source.SAST).get(SAST) is not None


def _entry(fp: str, extra: str = "") -> bytes:
    return f'[[finding]]\nfingerprint = "{fp * 64}"\nwho = "a"\nwhy = "b"\n{extra}'.encode()


def test_an_entry_accepts_only_what_it_claims() -> None:
    # a DAST entry may give the fingerprint alone; a rule it names must be the finding's
    assert Baseline.from_toml(_entry("a")).get(DAST) is not None
    assert Baseline.from_toml(_entry("a", 'rule = "xss"\n')).get(DAST) is None
    assert Baseline.from_toml(_entry("a", 'rule = "sqli-error"\npath = "x"\n')).get(DAST) is None
    # a finding in a file needs the entry to name its rule and path
    assert Baseline.from_toml(_entry("b")).get(SAST) is None
    assert Baseline.from_toml(_entry("b", 'rule = "B608"\n')).get(SAST) is None
    assert Baseline.from_toml(_entry("b", 'rule = "B608"\npath = "other.py"\n')).get(SAST) is None
    assert Baseline.from_toml(_entry("b", 'rule = "B608"\npath = "app/db.py"\n')).get(SAST)


@pytest.mark.parametrize("extra", ["", 'rule = "B608"\n', 'path = "app/db.py"\n'])
def test_a_sast_baseline_must_name_rule_and_path(extra: str) -> None:
    with pytest.raises(InputError, match="is required"):
        Baseline.from_toml(_entry("b", extra), source=Source.SAST)


@pytest.mark.parametrize("extra", ['rule = ""\n', "path = 3\n", 'rule = " "\n'])
def test_stated_claims_are_non_empty_strings(extra: str) -> None:
    with pytest.raises(InputError, match="non-empty string"):
        Baseline.from_toml(_entry("a", extra))
