"""The audit log's lines as values, and reading them back: parse, chain, anchor, checkpoint.

See :mod:`nebsign.agent.auditlog` for the format; this module reads and
verifies, :class:`~nebsign.agent.auditlog.AuditLog` appends.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nebsign._internal.atomic import io_error
from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, VerdictError

__all__ = [
    "GENESIS",
    "MAX_LINE_BYTES",
    "ROTATED",
    "LogEntry",
    "LogHead",
    "LogTampered",
    "LogVerification",
    "read_entries",
    "verify_from_checkpoint",
    "verify_log",
]

GENESIS = "0" * 64
MAX_LINE_BYTES = 64 * 1024
_RESERVED = frozenset({"event", "prev", "seq", "time"})


class LogTampered(VerdictError):
    """The audit log was edited, truncated, reordered or lines were deleted."""

    reason = "log-tampered"


@dataclass(frozen=True, slots=True)
class LogHead:
    """The last line of the log: its sequence number and hash."""

    seq: int
    sha256: str
    #: the checkpoint: bytes of the active log file up to and including this line's
    #: newline, and the SHA-256 of exactly those bytes (the verified prefix)
    offset: int | None = None
    prefix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "sha256": self.sha256}
        if self.offset is not None and self.prefix is not None:
            out["offset"], out["prefix_sha256"] = self.offset, self.prefix
        return out

    @classmethod
    def from_dict(cls, obj: object) -> LogHead:
        checkpoint = {"offset", "prefix_sha256"}
        if (
            not isinstance(obj, dict)
            or set(obj) not in ({"seq", "sha256"}, {"seq", "sha256"} | checkpoint)
            or not all(_is_int(obj.get(k, 0)) for k in ("seq", "offset"))
            or not all(_is_hex(obj.get(k, "0" * 64)) for k in ("sha256", "prefix_sha256"))
        ):
            raise InputError(
                "state: 'log' must be {seq, sha256[, offset, prefix_sha256]} (ints, 64 hex)"
            )
        return cls(obj["seq"], obj["sha256"], obj.get("offset"), obj.get("prefix_sha256"))


def _is_hex(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in _HEXDIGITS for c in value)


_HEXDIGITS = frozenset("0123456789abcdef")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One verified line."""

    seq: int
    time: str
    event: str
    details: Mapping[str, Any]
    sha256: str
    prev: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**self.details, "event": self.event, "seq": self.seq, "time": self.time}

    def to_line(self) -> dict[str, Any]:
        """The object whose canonical JSON is the line (``prev`` included)."""
        return {**self.to_dict(), "prev": self.prev}


@dataclass(frozen=True, slots=True)
class LogVerification:
    """Result of a successful verification."""

    entries: int
    head: LogHead | None
    anchored: bool
    unanchored_tail: int
    tail: tuple[LogEntry, ...] = ()
    #: the last line (the head), parsed
    last: LogEntry | None = None
    #: SHA-256 state over the file's bytes up to the head (continued by appends)
    hasher: Any = None


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


def _lines(path: Path, start: int = 0) -> Iterator[tuple[int, bytes, bool, int]]:
    """(line number, bytes without newline, ended with newline, end offset) from *start*."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            end = start
            for number, line in enumerate(fh, start=1):
                if len(line) > MAX_LINE_BYTES + 1:
                    raise LogTampered(f"{path}: line {number} is longer than {MAX_LINE_BYTES}")
                end += len(line)
                if line.endswith(b"\n"):
                    yield number, line[:-1], True, end
                else:
                    yield number, line, False, end
    except FileNotFoundError:
        return
    except OSError as exc:
        raise io_error(path, exc, "read") from exc


def _intact(raw: bytes) -> bool:
    """True if *raw* is one whole canonical JSON object (a line that lost only its newline)."""
    try:
        obj = parse_json_object(raw, "audit line", limit=MAX_LINE_BYTES)
    except InputError:
        return False
    return canonical_json(obj) == raw


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
    return LogEntry(seq, time, event, details, sha256_bytes(raw), prev), prev


#: The first line of a segment after ``agent log rotate``: it continues the chain.
ROTATED = "rotated"


def _chain(
    path: Path, lines: Iterator[tuple[int, bytes, bool, int]], prev_hash: str, next_seq: int | None
) -> Iterator[tuple[LogEntry, int]]:
    """Check *lines* chain on from *prev_hash* / *next_seq*; yield (entry, end offset).

    With *next_seq* None (the start of a file) the first line starts the chain:
    at seq 0 from 64 zeros, or a ``rotated`` line continuing a sealed segment.
    """
    for number, raw, ended, end in lines:
        if not ended:
            raise LogTampered(f"{path}: line {number} is not terminated (torn write or truncation)")
        entry, obj_prev = _parse_line(path, number, raw)
        if next_seq is None and entry.event == ROTATED and entry.seq > 0:
            prev_hash, next_seq = obj_prev, entry.seq
        if obj_prev != prev_hash:
            raise LogTampered(
                f"{path}: line {number} (seq {entry.seq}) does not chain to the line before it: "
                "a line was edited, deleted or reordered"
            )
        expected = 0 if next_seq is None else next_seq
        if entry.seq != expected:
            raise LogTampered(
                f"{path}: line {number} has seq {entry.seq}, expected {expected}: "
                "lines were deleted or reordered"
            )
        yield entry, end
        prev_hash, next_seq = entry.sha256, entry.seq + 1


def read_entries(path: Path) -> Iterator[tuple[LogEntry, str]]:
    """Yield (entry, prev) for each line of the file, checking the chain as it goes."""
    prev = GENESIS
    for entry, _end in _chain(path, _lines(path), GENESIS, None):
        yield entry, prev
        prev = entry.sha256


def verify_log(path: Path, anchor: LogHead | None) -> LogVerification:
    """Check the whole chain of the file and that *anchor* (the head kept in state) is in it.

    Lines after the anchor are allowed (a crash between appending a line and
    saving the state leaves one); they are counted in ``unanchored_tail``.
    The anchor may also be the line just before a ``rotated`` first line (a
    crash during ``agent log rotate``).
    """
    head: LogHead | None = None
    last: LogEntry | None = None
    anchored = anchor is None
    count = 0
    tail: collections.deque[LogEntry] = collections.deque(maxlen=64)
    for entry, end in _chain(path, _lines(path), GENESIS, None):
        if (
            count == 0
            and anchor is not None
            and entry.event == ROTATED
            and (entry.seq, entry.prev) == (anchor.seq + 1, anchor.sha256)
        ):
            anchored = True
        count += 1
        head, last = LogHead(entry.seq, entry.sha256, end), entry
        if anchor is None or entry.seq > anchor.seq:
            tail.append(entry)
        if anchor is not None and entry.seq == anchor.seq:
            if entry.sha256 != anchor.sha256:
                raise LogTampered(
                    f"{path}: the line with seq {entry.seq} differs from the head recorded in "
                    "the state file (the log was rewritten)"
                )
            anchored = True
    if not anchored:
        assert anchor is not None
        raise LogTampered(
            f"{path}: has {count} lines but the state file records seq {anchor.seq} "
            f"(sha256 {anchor.sha256[:16]}...): the log was truncated"
        )
    unanchored = 0 if anchor is None or head is None else head.seq - anchor.seq
    hasher = hashlib.sha256()
    if head is not None:
        assert head.offset is not None
        _hash_range(path, hasher, 0, head.offset)
        head = replace(head, prefix=hasher.hexdigest())
    return LogVerification(count, head, anchor is not None, unanchored, tuple(tail), last, hasher)


def _hash_range(path: Path, hasher: Any, start: int, end: int) -> None:
    """Feed bytes [start, end) of *path* to *hasher* (C speed, 1 MiB at a time)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            left = end - start
            while left > 0:
                chunk = fh.read(min(left, 1 << 20))
                if not chunk:
                    raise LogTampered(f"{path}: shorter than the checkpoint (truncated)")
                hasher.update(chunk)
                left -= len(chunk)
    except FileNotFoundError as exc:
        raise LogTampered(f"{path}: missing, but the state file records a head") from exc
    except OSError as exc:
        raise io_error(path, exc, "read") from exc


def verify_from_checkpoint(path: Path, anchor: LogHead | None) -> LogVerification:
    """Like :func:`verify_log`, but parse only the lines after the anchor's checkpoint.

    The bytes before the checkpoint must still hash to the digest the state
    recorded (any edit there is caught, at hashing speed: ~30 ms for 100,000
    lines), the line ending there must be the anchor, and the lines after it
    must chain on. So a command's cost no longer grows with the log's
    *parsing*; ``agent log rotate`` bounds the bytes hashed too. Without a
    checkpoint, or when it does not match, this is the full
    :func:`verify_log`, which names the problem.
    """
    if anchor is None or anchor.offset is None or anchor.prefix is None:
        return verify_log(path, anchor)
    hasher = hashlib.sha256()
    try:
        _hash_range(path, hasher, 0, anchor.offset)
    except LogTampered:
        return verify_log(path, anchor)
    anchor_entry = _entry_ending_at(path, anchor.offset)
    found = None if anchor_entry is None else (anchor_entry.seq, anchor_entry.sha256)
    if hasher.hexdigest() != anchor.prefix or found != (anchor.seq, anchor.sha256):
        return verify_log(path, anchor)  # rotated during a crash, or tampered: says which
    head, last = anchor, anchor_entry
    tail: collections.deque[LogEntry] = collections.deque(maxlen=64)
    for entry, end in _chain(path, _lines(path, anchor.offset), anchor.sha256, anchor.seq + 1):
        hasher.update(canonical_json(entry.to_line()) + b"\n")
        head, last = LogHead(entry.seq, entry.sha256, end), entry
        tail.append(entry)
    head = replace(head, prefix=hasher.hexdigest())
    return LogVerification(
        head.seq + 1, head, True, head.seq - anchor.seq, tuple(tail), last, hasher
    )


def _entry_ending_at(path: Path, offset: int) -> LogEntry | None:
    """The canonical line whose newline is the byte before *offset*, or None."""
    try:
        with open(path, "rb") as fh:
            start = max(0, offset - MAX_LINE_BYTES - 2)
            fh.seek(start)
            chunk = fh.read(offset - start)
    except OSError as exc:
        raise io_error(path, exc, "read") from exc
    if len(chunk) != offset - start or not chunk.endswith(b"\n"):
        return None
    cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
    if cut < 0 and start > 0:
        return None
    try:
        entry, _prev = _parse_line(path, 0, chunk[cut + 1 : -1])
    except LogTampered:
        return None
    return entry
