"""The audit log's append under I/O faults injected at the OS boundary (docs/mutants.md).

A full disk can make ``write(2)`` write part of a line; ``fsync(2)`` can fail with an
I/O error after the bytes went in. The appender promises: the append is refused as
an environment fault (exit 3) naming the log, the line is whole or absent, never
torn, and the appender's head stays at the last line that is in the log, so the next
append (once the disk has room again) continues a chain that verifies.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nebsign.agent.auditlog import AuditLog, verify_log
from nebsign.errors import EnvironmentFault, InputError

T = "2026-01-01T00:00:00Z"


def _log_with_one_line(tmp_path: Path) -> tuple[Path, AuditLog, bytes]:
    path = tmp_path / "audit.log"
    log = AuditLog.open(path, None)
    log.append("installed", {"version": "1.0.0"}, time=T)
    return path, log, path.read_bytes()


class OnLog:
    """Replace ``os.NAME`` for descriptors of *path* only (every other call is real)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        self.fds: set[int] = set()
        self.monkeypatch = monkeypatch
        real_open, real_close = os.open, os.close

        def tracking_open(p: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            fd = real_open(p, flags, *args, **kwargs)
            if os.fsdecode(p) == str(path):
                self.fds.add(fd)
            return fd

        def tracking_close(fd: int) -> None:
            self.fds.discard(fd)
            real_close(fd)

        monkeypatch.setattr(os, "open", tracking_open)
        monkeypatch.setattr(os, "close", tracking_close)

    def fault(self, name: str, make: Callable[..., Any]) -> None:
        real = getattr(os, name)

        def faulty(fd: int, *args: Any) -> Any:
            return make(real, fd, *args) if fd in self.fds else real(fd, *args)

        self.monkeypatch.setattr(os, name, faulty)


def _append_again(path: Path, log: AuditLog, before_head: object) -> None:
    """With the fault gone, the same appender continues a chain that verifies."""
    assert log.head == before_head
    head = log.append("installed", {"version": "1.1.0"}, time=T)
    assert head.seq == 1
    assert verify_log(path, head).entries == 2
    again = AuditLog.open(path, head)
    assert again.head == head and again.tail == ()


@pytest.mark.parametrize("keep", [0, 1, 40, -1])
def test_a_short_write_is_refused_as_disk_full_and_leaves_no_torn_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    path, log, before = _log_with_one_line(tmp_path)
    head = log.head
    on_log = OnLog(monkeypatch, path)
    wrote: list[int] = []

    def short(real: Callable[..., int], fd: int, data: bytes) -> int:
        n = real(fd, data[:keep] if keep >= 0 else data[:-1])  # really written, then full
        wrote.append(n)
        return n

    on_log.fault("write", short)
    with pytest.raises(EnvironmentFault) as info:
        log.append("installed", {"version": "1.1.0"}, time=T)
    assert info.value.exit_code == 3
    assert info.value.message == f"cannot append to {path}: short write to the audit log"
    assert wrote and wrote[0] < len(before)  # the fault did write part of a line
    assert path.read_bytes() == before  # absent, not torn
    monkeypatch.undo()
    _append_again(path, log, head)


@pytest.mark.parametrize(
    ("err", "kind"),
    [(errno.ENOSPC, EnvironmentFault), (errno.EIO, EnvironmentFault), (errno.EBADF, InputError)],
)
def test_a_write_that_fails_leaves_the_log_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int, kind: type[Exception]
) -> None:
    path, log, before = _log_with_one_line(tmp_path)
    head = log.head

    def fail(real: Callable[..., int], fd: int, data: bytes) -> int:
        raise OSError(err, os.strerror(err))

    OnLog(monkeypatch, path).fault("write", fail)
    with pytest.raises(kind) as info:
        log.append("installed", {"version": "1.1.0"}, time=T)
    assert str(info.value) == f"cannot append to {path}: {os.strerror(err)}"
    assert path.read_bytes() == before
    monkeypatch.undo()
    _append_again(path, log, head)


def test_an_fsync_that_fails_takes_the_line_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes went in but are not known to be on disk: the line is taken out again."""
    path, log, before = _log_with_one_line(tmp_path)
    head = log.head

    def fail(real: Callable[..., None], fd: int) -> None:
        if os.fstat(fd).st_size > len(before):  # the append's fsync, not the clean-up's
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    OnLog(monkeypatch, path).fault("fsync", fail)
    with pytest.raises(EnvironmentFault) as info:
        log.append("installed", {"version": "1.1.0"}, time=T)
    assert info.value.message == f"cannot append to {path}: Input/output error"
    assert path.read_bytes() == before
    monkeypatch.undo()
    _append_again(path, log, head)


def test_a_new_log_whose_directory_cannot_be_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first line of a new log is refused when its directory entry is not durable."""
    path = tmp_path / "audit.log"
    log = AuditLog.open(path, None)
    real_open, real_fsync = os.open, os.fsync
    dirs: set[int] = set()

    def tracking_open(p: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_open(p, flags, *args, **kwargs)
        if os.fsdecode(p) == str(tmp_path) and flags & os.O_DIRECTORY:
            dirs.add(fd)
        return fd

    def faulty_fsync(fd: int) -> None:
        if fd in dirs:
            dirs.discard(fd)
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "open", tracking_open)
    monkeypatch.setattr(os, "fsync", faulty_fsync)
    with pytest.raises(EnvironmentFault) as info:
        log.append("installed", {"version": "1.0.0"}, time=T)
    assert info.value.message == f"cannot append to {path}: Input/output error"
    assert log.head is None
    assert not path.exists()  # as before the append: the next one creates it again
    monkeypatch.undo()
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    head = log.append("installed", {"version": "1.0.0"}, time=T)
    assert len(synced) == 2  # the file and, as it is new again, its directory
    assert head.seq == 0 and verify_log(path, head).entries == 1


def test_when_the_torn_line_cannot_be_taken_back_the_next_open_cuts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short write and then a failing truncate: the short write is what is reported."""
    path, log, before = _log_with_one_line(tmp_path)
    head = log.head
    on_log = OnLog(monkeypatch, path)

    def short(real: Callable[..., int], fd: int, data: bytes) -> int:
        return int(real(fd, data[:10]))

    def fail(real: Callable[..., None], fd: int, size: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    on_log.fault("write", short)
    on_log.fault("ftruncate", fail)
    with pytest.raises(EnvironmentFault) as info:
        log.append("installed", {"version": "1.1.0"}, time=T)
    assert info.value.message == f"cannot append to {path}: short write to the audit log"
    assert path.read_bytes() == before + b'{"event":"'  # torn: 10 bytes without a newline
    monkeypatch.undo()
    reopened = AuditLog.open(path, head)  # the repair on open cuts the torn tail
    assert reopened.head == head and path.read_bytes() == before
    _append_again(path, reopened, head)


def test_a_new_log_that_cannot_be_removed_again_still_reports_the_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first line fails and the new file cannot be removed: the write fault is reported."""
    path = tmp_path / "audit.log"
    log = AuditLog.open(path, None)
    on_log = OnLog(monkeypatch, path)

    def fail(real: Callable[..., int], fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def refuse(p: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    on_log.fault("write", fail)
    monkeypatch.setattr(os, "unlink", refuse)
    with pytest.raises(EnvironmentFault) as info:
        log.append("installed", {"version": "1.0.0"}, time=T)
    assert info.value.message == f"cannot append to {path}: No space left on device"
    assert path.read_bytes() == b""  # left empty: the next open finds an empty log
    monkeypatch.undo()
    assert AuditLog.open(path, None).head is None
