"""The finding model: fingerprints, JSON round trip, parsing untrusted lists."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sast.sastkit import CASES, bandit, semgrep

from nebsign.errors import InputError
from nebsign.findings import (
    Confidence,
    Finding,
    Location,
    Severity,
    Source,
    Status,
    StatusNote,
    findings_from_json,
    findings_to_json,
)
from nebsign.sast.runner import run_scan

VULN = "import subprocess\n\n\ndef go(x):\n    subprocess.run('ls ' + x, shell=True)\n"


def _scan(root: Path) -> list[Finding]:
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    return list(run_scan(root, files, [bandit(), semgrep()]).findings)


def test_fingerprints_survive_line_moves_and_unrelated_edits(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(VULN)
    before = {(f.tool, f.rule_id): f for f in _scan(tmp_path)}
    assert ("semgrep", "subprocess-shell-true") in before
    moved = "# a comment\nimport os\n\n\n" + VULN.replace(
        "def go(x):", "def go(x):\n    os.getpid()"
    )
    (tmp_path / "svc.py").write_text(
        moved.replace("    subprocess", "        subprocess").replace(
            "        subprocess", "    subprocess"
        )
    )
    after = {(f.tool, f.rule_id): f for f in _scan(tmp_path)}
    assert set(after) == set(before)
    for key, finding in after.items():
        assert finding.location.line != before[key].location.line
        assert finding.fingerprint == before[key].fingerprint, key


def test_a_second_identical_finding_gets_a_new_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(VULN + VULN.replace("def go", "def go2").split("\n\n\n")[1])
    found = [f for f in _scan(tmp_path) if f.rule_id == "subprocess-shell-true"]
    assert len(found) == 2
    assert found[0].fingerprint != found[1].fingerprint


def test_fingerprint_depends_on_path_and_rule(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(VULN)
    (tmp_path / "b.py").write_text(VULN)
    found = [f for f in _scan(tmp_path) if f.rule_id == "subprocess-shell-true"]
    assert len({f.fingerprint for f in found}) == 2


def test_scan_json_is_deterministic(tmp_path: Path) -> None:
    shutil.copytree(CASES, tmp_path / "c")
    first = findings_to_json(_scan(tmp_path / "c"))
    second = findings_to_json(_scan(tmp_path / "c"))
    assert first == second
    parsed = findings_from_json(first)
    assert findings_to_json(parsed) == first


def _finding(**kw: object) -> Finding:
    base: dict = dict(
        source=Source.DAST,
        tool="nebsign-dast",
        rule_id="reflected-xss",
        severity=Severity.HIGH,
        confidence=Confidence.MEDIUM,
        title="Reflected XSS",
        message="parameter q is reflected",
        location=Location(url="https://127.0.0.1/search", parameter="q", method="GET"),
        cwe=("CWE-79",),
        fingerprint="ab" * 32,
        status=Status.ACCEPTED_RISK,
        status_note=StatusNote("bob", "internal only", None),
    )
    base.update(kw)
    return Finding(**base)


def test_dast_and_audit_findings_share_the_model() -> None:
    items = [
        _finding(),
        _finding(
            source=Source.AUDIT,
            tool="CertiK",
            swc=("SWC-107",),
            location=Location(path="contracts/Vault.sol", line=42),
        ),
    ]
    raw = findings_to_json(items)
    again = findings_from_json(raw)
    assert again == sorted(items, key=Finding.sort_key)
    assert str(again[0].location) in {"GET https://127.0.0.1/search [q]", "contracts/Vault.sol:42"}


def test_location_needs_path_or_url() -> None:
    try:
        Location()
    except InputError:
        return
    raise AssertionError("a location without path or url was accepted")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(doc=_json)
def test_untrusted_finding_lists_never_crash(doc: object) -> None:
    for raw in (json.dumps(doc).encode(), json.dumps({"findings": [doc]}).encode()):
        with contextlib.suppress(InputError):
            findings_from_json(raw)


@settings(max_examples=100, deadline=None)
@given(
    field=st.sampled_from(["severity", "confidence", "source", "status", "location", "cwe"]),
    value=_json,
)
def test_corrupted_field_is_input_error(field: str, value: object) -> None:
    good = _finding().to_dict()
    good[field] = value
    raw = json.dumps({"findings": [good]}).encode()
    with contextlib.suppress(InputError):
        findings_from_json(raw)
