"""The audit log detects edits, deletions, reordering and truncation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign.agent.auditlog import AuditLog, LogHead, LogTampered, verify_log
from nebsign.errors import NebsignError


def _log(tmp_path: Path, n: int = 5) -> tuple[Path, LogHead]:
    path = tmp_path / "audit.log"
    log = AuditLog.open(path, None)
    head = None
    for i in range(n):
        head = log.append("installed", {"version": f"1.{i}.0"}, time="2026-01-01T00:00:00Z")
    assert head is not None
    return path, head


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_intact_log_verifies(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    result = verify_log(path, head)
    assert result.entries == 5 and result.head == head and result.unanchored_tail == 0
    first = json.loads(_lines(path)[0])
    assert first["prev"] == "0" * 64 and first["seq"] == 0


def test_edit_detected(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    lines = _lines(path)
    lines[2] = lines[2].replace(b"1.2.0", b"6.6.6")
    path.write_bytes(b"".join(lines))
    with pytest.raises(LogTampered, match=r"line 4 .* does not chain"):
        verify_log(path, head)


def test_edit_of_last_line_detected_by_anchor(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    lines = _lines(path)
    lines[-1] = lines[-1].replace(b"1.4.0", b"6.6.6")
    path.write_bytes(b"".join(lines))
    with pytest.raises(LogTampered, match="differs from the head"):
        verify_log(path, head)


def test_deletion_detected(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    lines = _lines(path)
    del lines[1]
    path.write_bytes(b"".join(lines))
    with pytest.raises(LogTampered, match="does not chain"):
        verify_log(path, head)


def test_reordering_detected(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_bytes(b"".join(lines))
    with pytest.raises(LogTampered):
        verify_log(path, head)


def test_truncation_detected_with_head(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    path.write_bytes(b"".join(_lines(path)[:3]))
    verify_log(path, None)  # the chain alone cannot see it ...
    with pytest.raises(LogTampered, match="truncated"):
        verify_log(path, head)  # ... the head kept in the state does


def test_truncation_to_empty_detected(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(LogTampered, match="truncated"):
        verify_log(path, head)


def test_torn_tail_repaired_on_open(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    with open(path, "ab") as fh:
        fh.write(b'{"event":"insta')
    with pytest.raises(LogTampered, match="not terminated"):
        verify_log(path, head)
    log = AuditLog.open(path, head)
    assert log.head == head
    new = log.append("refused", {"reason": "x"})
    assert verify_log(path, new).entries == 6


def test_unanchored_tail_allowed(tmp_path: Path) -> None:
    path, head = _log(tmp_path)
    log = AuditLog.open(path, head)
    log.append("installed", {"version": "2.0.0"})
    result = verify_log(path, head)
    assert result.unanchored_tail == 1
    assert [e.event for e in result.tail] == ["installed"]


def test_non_canonical_line_detected(tmp_path: Path) -> None:
    path, _head = _log(tmp_path, 1)
    obj = json.loads(path.read_bytes())
    path.write_text(json.dumps(obj, indent=1).replace("\n", "") + "\n")
    with pytest.raises(LogTampered):
        verify_log(path, None)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=2000))
def test_random_corruption_never_passes_or_crashes(tmp_path: Path, data: bytes, cut: int) -> None:
    sub = tmp_path / f"h{abs(hash((data, cut)))}"
    sub.mkdir(exist_ok=True)
    (sub / "audit.log").unlink(missing_ok=True)
    path, head = _log(sub, 4)
    original = path.read_bytes()
    cut = min(cut, len(original))
    corrupted = original[:cut] + data + original[cut + len(data) :]
    path.write_bytes(corrupted)
    try:
        verify_log(path, head)
    except NebsignError as exc:
        assert exc.exit_code in (1, 2)
    else:
        assert corrupted == original


def test_long_fields_are_clipped(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "audit.log", None)
    head = log.append("refused", {"message": "x" * 100_000, "versions": list(range(1000))})
    entry = json.loads((tmp_path / "audit.log").read_text())
    assert entry["message"].endswith("...(truncated)") and len(entry["message"]) < 5000
    assert len(entry["versions"]) == 257
    assert verify_log(tmp_path / "audit.log", head).entries == 1
