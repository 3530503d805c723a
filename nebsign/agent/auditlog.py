"""Tamper-evident audit log: JSON lines, each carrying the SHA-256 of the previous line.

Each line is the RFC 8785 canonical JSON of::

    {"event": "...", "prev": "<hex sha256 of the previous line>", "seq": N,
     "time": "YYYY-MM-DDTHH:MM:SSZ", ...details}

``prev`` of the first line (seq 0) is 64 zeros. The hash of a line is the
SHA-256 of its bytes without the newline. Editing a line breaks the next
line's ``prev``; deleting or reordering lines breaks ``prev`` and ``seq``.
Truncating the tail cannot be seen from the log alone, so the agent keeps the
head (``seq`` and hash of the last line) in its state file and verification
checks that the head is still in the log.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nebsign._internal.atomic import fsync_dir, io_error
from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError

__all__ = [
    "GENESIS",
    "MAX_LINE_BYTES",
    "AuditLog",
    "LogEntry",
    "LogHead",
    "LogTampered",
    "LogVerification",
    "read_entries",
    "verify_log",
]

GENESIS = "0" * 64
MAX_LINE_BYTES = 64 * 1024
MAX_LOG_BYTES = 1024 * 1024 * 1024
_RESERVED = frozenset({"event", "prev", "seq", "time"})


class LogTampered(VerdictError):
    """The audit log was edited, truncated, reordered or lines were deleted."""

    reason = "log-tampered"


@dataclass(frozen=True, slots=True)
class LogHead:
    """The last line of the log: its sequence number and hash."""

    seq: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, obj: object) -> LogHead:
        if (
            not isinstance(obj, dict)
            or set(obj) != {"seq", "sha256"}
            or not isinstance(obj["seq"], int)
            or isinstance(obj["seq"], bool)
            or not isinstance(obj["sha256"], str)
            or len(obj["sha256"]) != 64
        ):
            raise InputError("state: 'log' must be {seq: int, sha256: 64 hex}")
        return cls(obj["seq"], obj["sha256"])


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One verified line."""

    seq: int
    time: str
    event: str
    details: Mapping[str, Any]
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.details, "event": self.event, "seq": self.seq, "time": self.time}


@dataclass(frozen=True, slots=True)
class LogVerification:
    """Result of a successful verification."""

    entries: int
    head: LogHead | None
    anchored: bool
    unanchored_tail: int
    tail: tuple[LogEntry, ...] = ()


_MAX_FIELD = 4096


def _clip(value: Any) -> Any:
    """Long strings (messages, hook output) are cut so a line stays under the limit."""
    if isinstance(value, str) and len(value) > _MAX_FIELD:
        return value[:_MAX_FIELD] + "...(truncated)"
    if isinstance(value, list) and len(value) > 256:
        return [*value[:256], f"...({len(value) - 256} more)"]
    return value


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without newline, ended with newline) for each line."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise io_error(path, exc, "read") from exc
    if size > MAX_LOG_BYTES:
        raise InputError(f"{path}: larger than {MAX_LOG_BYTES} bytes; rotate it")
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, start=1):
                if len(line) > MAX_LINE_BYTES + 1:
                    raise LogTampered(f"{path}: line {number} is longer than {MAX_LINE_BYTES}")
                if line.endswith(b"\n"):
                    yield number, line[:-1], True
                else:
                    yield number, line, False
    except OSError as exc:
        raise io_error(path, exc, "read") from exc


def _parse_line(path: Path, number: int, raw: bytes) -> tuple[LogEntry, str]:
    try:
        obj = parse_json_object(raw, f"{path}: line {number}", limit=MAX_LINE_BYTES)
    except InputError as exc:
        raise LogTampered(f"{exc.message} (the line was edited or corrupted)") from exc
    seq, time, event, prev = obj.get("seq"), obj.get("time"), obj.get("event"), obj.get("prev")
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or not isinstance(time, str)
        or not isinstance(event, str)
        or not isinstance(prev, str)
    ):
        raise LogTampered(f"{path}: line {number}: missing seq/time/event/prev (edited)")
    if canonical_json(obj) != raw:
        raise LogTampered(f"{path}: line {number} is not in canonical form (edited)")
    details = {k: v for k, v in obj.items() if k not in _RESERVED}
    return LogEntry(seq, time, event, details, sha256_bytes(raw)), prev


def read_entries(path: Path) -> Iterator[tuple[LogEntry, str]]:
    """Yield (entry, prev) for each line, checking the chain as it goes."""
    prev_hash = GENESIS
    for expected_seq, (number, raw, ended) in enumerate(_lines(path)):
        if not ended:
            raise LogTampered(f"{path}: line {number} is not terminated (torn write or truncation)")
        entry, obj_prev = _parse_line(path, number, raw)
        if obj_prev != prev_hash:
            raise LogTampered(
                f"{path}: line {number} (seq {entry.seq}) does not chain to the line before it: "
                "a line was edited, deleted or reordered"
            )
        if entry.seq != expected_seq:
            raise LogTampered(
                f"{path}: line {number} has seq {entry.seq}, expected {expected_seq}: "
                "lines were deleted or reordered"
            )
        yield entry, prev_hash
        prev_hash = entry.sha256


def verify_log(path: Path, anchor: LogHead | None) -> LogVerification:
    """Check the whole chain and that *anchor* (the head kept in state) is in it.

    Lines after the anchor are allowed (a crash between appending a line and
    saving the state leaves one); they are counted in ``unanchored_tail``.
    """
    head: LogHead | None = None
    anchored = anchor is None
    count = 0
    tail: collections.deque[LogEntry] = collections.deque(maxlen=64)
    for entry, _prev in read_entries(path):
        count += 1
        head = LogHead(entry.seq, entry.sha256)
        if anchor is None or entry.seq > anchor.seq:
            tail.append(entry)
        if anchor is not None and entry.seq == anchor.seq:
            if entry.sha256 != anchor.sha256:
                raise LogTampered(
                    f"{path}: line {entry.seq + 1} differs from the head recorded in the "
                    "state file (the log was rewritten)"
                )
            anchored = True
    if not anchored:
        assert anchor is not None
        raise LogTampered(
            f"{path}: has {count} lines but the state file records line {anchor.seq + 1} "
            f"(sha256 {anchor.sha256[:16]}...): the log was truncated"
        )
    unanchored = 0 if anchor is None or head is None else head.seq - anchor.seq
    return LogVerification(count, head, anchor is not None, unanchored, tuple(tail))


class AuditLog:
    """Appender for one log file; :meth:`open` verifies the chain first."""

    def __init__(self, path: Path, head: LogHead | None, tail: tuple[LogEntry, ...] = ()) -> None:
        self.path = path
        self.head = head
        #: entries after the anchored head: written just before a crash
        self.tail = tail

    @classmethod
    def open(cls, path: Path, anchor: LogHead | None) -> AuditLog:
        """Verify the existing log against *anchor* and return an appender at its end.

        A torn final line (no newline) after the anchor, left by a crash in
        the middle of an append, is cut off; anything else that does not
        verify raises :class:`LogTampered`.
        """
        cls._repair_torn_tail(path)
        result = verify_log(path, anchor)
        return cls(path, result.head, result.tail)

    @staticmethod
    def _repair_torn_tail(path: Path) -> None:
        try:
            with open(path, "rb+") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                if size == 0:
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return
                # Find the end of the last complete line.
                pos = size
                block = 4096
                keep = 0
                while pos > 0:
                    start = max(0, pos - block)
                    fh.seek(start)
                    chunk = fh.read(pos - start)
                    idx = chunk.rfind(b"\n")
                    if idx >= 0:
                        keep = start + idx + 1
                        break
                    pos = start
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
        except FileNotFoundError:
            return
        except OSError as exc:
            raise io_error(path, exc, "repair") from exc

    def append(self, event: str, details: Mapping[str, Any], *, time: str | None = None) -> LogHead:
        """Append one fsynced line; return the new head (to store in the state)."""
        bad = _RESERVED & set(details)
        if bad:
            raise ValueError(f"reserved audit field {sorted(bad)[0]!r}")
        details = {k: _clip(v) for k, v in details.items()}
        seq = 0 if self.head is None else self.head.seq + 1
        prev = GENESIS if self.head is None else self.head.sha256
        obj = {**details, "event": event, "prev": prev, "seq": seq, "time": time or _now_text()}
        line = canonical_json(obj)
        if len(line) > MAX_LINE_BYTES:
            raise InputError(f"audit entry of {len(line)} bytes exceeds {MAX_LINE_BYTES}")
        created = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                data = line + b"\n"
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(28, "short write to the audit log")
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_dir(self.path.parent)
        except OSError as exc:
            raise io_error(self.path, exc, "append to") from exc
        self.head = LogHead(seq, sha256_bytes(line))
        return self.head
