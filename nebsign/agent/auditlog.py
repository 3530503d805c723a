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

import contextlib
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nebsign._internal.atomic import fsync_dir, io_error
from nebsign._internal.canonical import canonical_json
from nebsign.agent.logchain import (
    _RESERVED,
    GENESIS,
    MAX_LINE_BYTES,
    ROTATED,
    LogEntry,
    LogHead,
    LogTampered,
    LogVerification,
    _clip,
    _intact,
    _now_text,
    read_entries,
    verify_from_checkpoint,
    verify_log,
)
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError

__all__ = [
    "GENESIS",
    "MAX_LINE_BYTES",
    "ROTATED",
    "AuditLog",
    "LogEntry",
    "LogHead",
    "LogTampered",
    "LogVerification",
    "read_entries",
    "verify_from_checkpoint",
    "verify_log",
]


class AuditLog:
    """Appender for one log file; :meth:`open` verifies the chain first."""

    def __init__(
        self,
        path: Path,
        head: LogHead | None,
        tail: tuple[LogEntry, ...] = (),
        last: LogEntry | None = None,
        hasher: Any = None,
    ) -> None:
        self.path = path
        self.head = head
        self._hasher = hasher if hasher is not None else hashlib.sha256()
        #: entries after the anchored head: written just before a crash
        self.tail = tail
        #: the last line of the log (None when empty)
        self.last = last

    @property
    def prefix_hasher(self) -> Any:
        """SHA-256 state over the file up to the head (appends continue it)."""
        return self._hasher

    @classmethod
    def open(cls, path: Path, anchor: LogHead | None) -> AuditLog:
        """Verify the log from the *anchor*'s checkpoint and return an appender at its end.

        A final line without its newline is completed when it is an intact
        canonical line (only the newline was lost), and cut off when it is
        torn (a crash in the middle of an append); anything else that does
        not verify raises :class:`LogTampered`.
        """
        cls._repair_torn_tail(path)
        result = verify_from_checkpoint(path, anchor)
        return cls(path, result.head, result.tail, result.last, result.hasher)

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
                start = max(0, size - MAX_LINE_BYTES - 1)
                fh.seek(start)
                chunk = fh.read(size - start)
                cut = chunk.rfind(b"\n")
                if (cut >= 0 or start == 0) and _intact(chunk[cut + 1 :]):
                    fh.write(b"\n")  # only the newline was lost: keep the line
                    fh.flush()
                    os.fsync(fh.fileno())
                    return
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
        """Append one fsynced line (or, on an I/O fault, none); return the new head."""
        head = self._append(event, details, time)
        return head

    def _append(self, event: str, details: Mapping[str, Any], time: str | None) -> LogHead:
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
                start = os.fstat(fd).st_size
                try:
                    _write_line(fd, data)
                    os.fsync(fd)
                    if created:
                        fsync_dir(self.path.parent)
                except OSError:
                    _take_back(fd, start)  # the line is whole and durable, or absent
                    if created:
                        with contextlib.suppress(OSError):
                            os.unlink(self.path)  # as before: no log file
                    raise
                end = os.fstat(fd).st_size
            finally:
                os.close(fd)
        except OSError as exc:
            raise io_error(self.path, exc, "append to") from exc
        digest = sha256_bytes(line)
        self._hasher.update(data)
        self.head = LogHead(seq, digest, end, self._hasher.hexdigest())
        self.last = LogEntry(seq, str(obj["time"]), event, details, digest, prev)
        return self.head


def _write_line(fd: int, data: bytes) -> None:
    """One write(2) of the whole line; a short write is a full disk."""
    if os.write(fd, data) != len(data):
        raise OSError(28, "short write to the audit log")


def _take_back(fd: int, size: int) -> None:
    """Cut a failed append off again (best effort: a torn tail is also cut on open)."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, size)
        os.fsync(fd)
