"""The finding model: fingerprints, JSON round trip, parsing untrusted lists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
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
    # lines added above (a move), an unrelated statement in the function, and the
    # flagged call itself re-indented into a block: normalized code is unchanged
    moved = "# a comment\nimport os\n\n\n" + VULN.replace(
        "def go(x):\n    subprocess", "def go(x):\n    os.getpid()\n    if x:\n        subprocess"
    )
    assert "\n        subprocess.run('ls ' + x, shell=True)\n" in moved
    assert "os.getpid()" in moved and moved.count("subprocess.run(") == 1
    (tmp_path / "svc.py").write_text(moved)
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


# integers at the edge of I-JSON's exact range too: a list is written back canonically
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53)])
    | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=5)
    ),
    max_leaves=20,
)


def _round_trips(found: list[Finding]) -> None:
    """What a parser accepted is a value: it writes and reads back unchanged."""
    raw = findings_to_json(found)
    assert findings_from_json(raw) == sorted(found, key=Finding.sort_key)
    assert findings_to_json(findings_from_json(raw)) == raw


def test_a_finding_that_cannot_be_written_back_is_refused() -> None:
    good = _finding().to_dict()
    good["properties"] = {"count": 2**53}
    with pytest.raises(InputError, match="I-JSON"):
        findings_from_json(json.dumps({"findings": [good]}).encode())
    good["properties"] = {"count": 2**53 - 1}
    _round_trips(findings_from_json(json.dumps({"findings": [good]}).encode()))


@settings(max_examples=150, deadline=None)
@given(doc=_json)
def test_untrusted_finding_lists_never_crash(doc: object) -> None:
    for raw in (json.dumps(doc).encode(), json.dumps({"findings": [doc]}).encode()):
        try:
            found = findings_from_json(raw)
        except InputError:
            continue
        # only a list of findings is a finding list; each element became a Finding
        assert isinstance(json.loads(raw)["findings"], list)
        assert len(found) == len(json.loads(raw)["findings"])
        _round_trips(found)


# What each field may hold, written from the model's documentation (DESIGN.md), not
# from the parser: the oracle the parser is checked against.
_ENUMS = {
    "severity": {"critical", "high", "medium", "low", "info"},
    "confidence": {"high", "medium", "low"},
    "source": {"sast", "dast", "audit"},
    "status": {"open", "fixed", "acknowledged", "accepted-risk", "false-positive"},
}
_LOC_INT = {"line", "column", "end_line", "end_column"}
_LOC_STR = {"path", "url", "parameter", "method"}


def _valid(field: str, value: object) -> bool:
    if field in _ENUMS:
        return isinstance(value, str) and value in _ENUMS[field]
    if field == "cwe":
        return isinstance(value, list) and all(isinstance(c, str) for c in value)
    assert field == "location"
    if not isinstance(value, dict) or not set(value) <= _LOC_INT | _LOC_STR:
        return False
    if "path" not in value and "url" not in value:
        return False
    for key, item in value.items():
        if key in _LOC_INT and (type(item) is not int or item < 1):
            return False
        if key in _LOC_STR and not isinstance(item, str):
            return False
    return True


_loc_value = st.one_of(st.integers(-1, 3), st.text(max_size=4), st.none(), st.booleans())
_field_value = st.one_of(
    _json,
    st.sampled_from(sorted(set().union(*_ENUMS.values()) | {"HIGH", "warning", ""})),
    st.dictionaries(st.sampled_from(sorted(_LOC_INT | _LOC_STR | {"file"})), _loc_value),
    st.lists(st.one_of(st.text(max_size=6), st.integers(0, 2)), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(["severity", "confidence", "source", "status", "location", "cwe"]),
    value=_field_value,
)
def test_corrupted_field_is_input_error(field: str, value: object) -> None:
    good = _finding().to_dict()
    good[field] = value
    raw = json.dumps({"findings": [good]}).encode()
    try:
        (finding,) = findings_from_json(raw)
    except InputError:
        assert not _valid(field, value), f"a valid {field} was refused: {value!r}"
        return
    assert _valid(field, value), f"an invalid {field} was accepted: {value!r}"
    assert finding.to_dict()[field] == value
    _round_trips([finding])
