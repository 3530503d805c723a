"""The baseline for any source: one file format; each entry's rule and place checked."""

from __future__ import annotations

from datetime import date

from nebsign.baseline import Baseline, place, render_baseline
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
    Source.DAST, "sqli-error", Location(url="http://h/app", parameter="q", method="POST"), "a"
)
SAST = _finding(Source.SAST, "B608", Location(path="app/db.py", line=3), "b")
AUDIT = _finding(Source.AUDIT, "reentrancy", Location(url="slither:reentrancy"), "c")


def test_written_baselines_accept_what_they_were_written_for_in_every_source() -> None:
    raw = render_baseline([DAST, SAST, AUDIT], who="a@b", why="known", until=None)
    baseline = Baseline.from_toml(raw)
    matched, fixed = baseline.match([DAST, SAST, AUDIT], TODAY)
    assert [f.status for f in matched] == [Status.ACCEPTED_RISK] * 3 and not fixed
    assert place(DAST) == "POST http://h/app" and place(SAST) == "app/db.py"


def _entry(fp: str, rule: str, path: str) -> bytes:
    return (
        f'[[finding]]\nfingerprint = "{fp * 64}"\nrule = "{rule}"\npath = "{path}"\n'
        'who = "a"\nwhy = "b"\n'
    ).encode()


def test_an_entry_accepts_only_the_rule_and_place_it_names() -> None:
    assert Baseline.from_toml(_entry("a", "sqli-error", "POST http://h/app")).get(DAST)
    assert Baseline.from_toml(_entry("a", "xss", "POST http://h/app")).get(DAST) is None
    assert Baseline.from_toml(_entry("a", "sqli-error", "GET http://h/app")).get(DAST) is None
    assert Baseline.from_toml(_entry("b", "B608", "app/db.py")).get(SAST)
    assert Baseline.from_toml(_entry("b", "B608", "other.py")).get(SAST) is None
    assert Baseline.from_toml(_entry("b", "B101", "app/db.py")).get(SAST) is None
