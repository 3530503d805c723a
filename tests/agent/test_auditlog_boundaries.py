"""The audit log's appender and torn-tail repair at their boundaries (docs/mutants.md)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from nebsign._internal.canonical import canonical_json
from nebsign.agent.auditlog import (
    GENESIS,
    MAX_LINE_BYTES,
    AuditLog,
    LogEntry,
    LogTampered,
    verify_log,
)
from nebsign.errors import InputError

T = "2026-01-01T00:00:00Z"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_append_writes_the_chained_canonical_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    old = os.umask(0o022)
    try:
        log = AuditLog.open(path, None)
        assert (log.head, log.last, log.tail) == (None, None, ())
        assert log.prefix_hasher.hexdigest() == _sha(b"")
        head = log.append("installed", {"version": "1.0.0"}, time=T)
    finally:
        os.umask(old)
    first = canonical_json(
        {"event": "installed", "prev": GENESIS, "seq": 0, "time": T, "version": "1.0.0"}
    )
    assert path.read_bytes() == first + b"\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert (head.seq, head.sha256, head.offset, head.prefix) == (
        0,
        _sha(first),
        len(first) + 1,
        _sha(first + b"\n"),
    )
    assert log.head == head
    assert log.last == LogEntry(0, T, "installed", {"version": "1.0.0"}, _sha(first), GENESIS)
    second_head = log.append("refused", {"reason": "x"}, time="2026-01-02T00:00:00Z")
    second = canonical_json(
        {
            "event": "refused",
            "prev": _sha(first),
            "reason": "x",
            "seq": 1,
            "time": "2026-01-02T00:00:00Z",
        }
    )
    assert path.read_bytes() == first + b"\n" + second + b"\n"
    assert second_head.seq == 1 and second_head.offset == path.stat().st_size
    assert second_head.prefix == _sha(path.read_bytes()) == log.prefix_hasher.hexdigest()
    assert log.last is not None and log.last.prev == _sha(first)
    # reopened at the head: appends continue the chain and the prefix hash
    again = AuditLog.open(path, second_head)
    assert again.head == second_head and again.last == log.last
    third = again.append("installed", {"version": "1.1.0"})
    assert third.seq == 2 and third.prefix == _sha(path.read_bytes())
    assert verify_log(path, third).entries == 3


def test_append_without_a_time_uses_the_clock(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "audit.log", None)
    log.append("installed", {})
    assert log.last is not None
    assert len(log.last.time) == 20 and log.last.time.endswith("Z") and log.last.time[:2] == "20"


@pytest.mark.parametrize("field", ["event", "prev", "seq", "time"])
def test_reserved_fields_are_refused(tmp_path: Path, field: str) -> None:
    log = AuditLog.open(tmp_path / "audit.log", None)
    with pytest.raises(ValueError) as info:
        log.append("installed", {field: "x", "zzz": "y"})
    assert str(info.value) == f"reserved audit field {field!r}"
    assert not (tmp_path / "audit.log").exists()


def test_long_fields_are_clipped_in_the_written_line(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "audit.log", None)
    log.append("x", {"message": "m" * 5000}, time=T)
    assert log.last is not None
    assert log.last.details["message"] == "m" * 4096 + "...(truncated)"
    assert b"m" * 4097 not in (tmp_path / "audit.log").read_bytes()


def _details_for(size: int) -> dict[str, str]:
    """Details whose canonical line (seq 0, time T) is exactly *size* bytes."""
    fields: dict[str, str] = {}
    base = len(canonical_json({"event": "x", "prev": GENESIS, "seq": 0, "time": T}))
    i = 0
    room = size - base
    while room > 0:
        key = f"k{i:03d}"
        overhead = len(f',"{key}":""')
        take = min(4000, room - overhead)
        fields[key] = "v" * take
        room -= overhead + take
        i += 1
    line = canonical_json({**fields, "event": "x", "prev": GENESIS, "seq": 0, "time": T})
    assert len(line) == size, (len(line), size)
    return fields


def test_line_size_limit_is_inclusive(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "ok.log", None)
    log.append("x", _details_for(MAX_LINE_BYTES), time=T)
    assert (tmp_path / "ok.log").stat().st_size == MAX_LINE_BYTES + 1
    log = AuditLog.open(tmp_path / "over.log", None)
    with pytest.raises(InputError) as info:
        log.append("x", _details_for(MAX_LINE_BYTES + 1), time=T)
    assert info.value.message == (
        f"audit entry of {MAX_LINE_BYTES + 1} bytes exceeds {MAX_LINE_BYTES}"
    )
    assert not (tmp_path / "over.log").exists()


def _two_lines(path: Path) -> bytes:
    log = AuditLog.open(path, None)
    log.append("installed", {"version": "1.0.0"}, time=T)
    log.append("installed", {"version": "1.1.0"}, time=T)
    return path.read_bytes()


def test_repair_leaves_a_whole_log_alone(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    good = _two_lines(path)
    AuditLog.open(path, None)
    assert path.read_bytes() == good
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert AuditLog.open(empty, None).head is None and empty.read_bytes() == b""
    assert AuditLog.open(tmp_path / "missing.log", None).head is None
    assert not (tmp_path / "missing.log").exists()


def test_repair_completes_a_last_line_that_lost_only_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    good = _two_lines(path)
    path.write_bytes(good[:-1])
    log = AuditLog.open(path, None)
    assert path.read_bytes() == good
    assert log.head is not None and log.head.seq == 1
    # three lines: only the last one's newline is lost
    three = tmp_path / "three.log"
    log3 = AuditLog.open(three, None)
    for v in ("1", "2", "3"):
        log3.append("installed", {"version": v}, time=T)
    whole = three.read_bytes()
    three.write_bytes(whole[:-1])
    assert AuditLog.open(three, None).head == log3.head
    assert three.read_bytes() == whole
    # the only line, without its newline
    one = tmp_path / "one.log"
    first = good.split(b"\n")[0]
    one.write_bytes(first)
    assert AuditLog.open(one, None).head is not None and one.read_bytes() == first + b"\n"


@pytest.mark.parametrize("torn", [b"{", b'{"event":"insta', b"x" * 10_000, b"y" * 70_000])
def test_repair_cuts_a_torn_last_line(tmp_path: Path, torn: bytes) -> None:
    path = tmp_path / "audit.log"
    good = _two_lines(path)
    path.write_bytes(good + torn)
    log = AuditLog.open(path, None)
    assert path.read_bytes() == good
    assert log.head is not None and log.head.seq == 1 and log.head.offset == len(good)


@pytest.mark.parametrize("torn", [b'{"event"', b"z" * 9000, b"w" * 70_000])
def test_repair_of_a_torn_only_line_empties_the_log(tmp_path: Path, torn: bytes) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(torn)
    assert AuditLog.open(path, None).head is None
    assert path.read_bytes() == b""


def test_repair_completes_a_long_intact_last_line(tmp_path: Path) -> None:
    # an intact last line of exactly the line limit (longer than the 4 KiB search
    # block), newline lost: the search window reaches the newline before it
    path = tmp_path / "audit.log"
    log = AuditLog.open(path, None)
    log.append("installed", {"version": "1.0.0"}, time=T)
    log.append("x", _details_for(MAX_LINE_BYTES), time=T)
    assert path.stat().st_size == len(path.read_bytes().split(b"\n")[0]) + 1 + MAX_LINE_BYTES + 1
    good = path.read_bytes()
    path.write_bytes(good[:-1])
    assert AuditLog.open(path, None).head == log.head
    assert path.read_bytes() == good


def test_an_appender_made_without_a_hasher_starts_its_own(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, None)
    head = log.append("installed", {}, time=T)
    assert head.prefix == _sha(path.read_bytes())


def test_repair_keeps_a_newline_at_the_very_start(tmp_path: Path) -> None:
    # the backward search reaches byte 0: an empty first line is kept (and is tampering)
    path = tmp_path / "audit.log"
    path.write_bytes(b"\n" + b"x" * 4096)
    with pytest.raises(LogTampered) as info:
        AuditLog.open(path, None)
    assert "line 1: not valid JSON" in info.value.message
    assert path.read_bytes() == b"\n"


def test_an_append_that_cannot_write_names_the_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog.open(path, None)
    path.mkdir()
    with pytest.raises(InputError) as info:
        log.append("installed", {}, time=T)
    assert info.value.message == f"cannot append to {path}: Is a directory"


def test_a_log_that_cannot_be_opened_for_repair_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.mkdir()
    with pytest.raises(InputError) as info:
        AuditLog.open(path, None)
    assert info.value.message == f"cannot repair {path}: Is a directory"
