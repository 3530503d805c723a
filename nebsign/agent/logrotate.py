"""``agent log rotate`` and the full ``agent log verify`` across sealed segments.

Rotation seals the active ``audit.log`` as ``audit.log.d/<first>-<last>.log``
(a hard link: the bytes never move) and starts a new ``audit.log`` whose
first line is a ``rotated`` entry continuing the chain: its ``prev`` is the
hash of the sealed segment's last line, its ``seq`` the next number, and it
records the segment's name, SHA-256 and entry count and the floor. Then the
state's head (and checkpoint) moves to that line.

A crash after the new file replaced the old one and before the state was
saved leaves the state anchored at the sealed segment's last line; opening
the log accepts a ``rotated`` first line that chains to exactly that anchor,
and recovery re-anchors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nebsign._internal.atomic import fsync_dir, io_error
from nebsign.agent.auditlog import (
    ROTATED,
    AuditLog,
    LogHead,
    LogTampered,
    read_entries,
    verify_log,
)
from nebsign.agent.layout import AgentLayout
from nebsign.agent.session import Session, check_floor, check_state_against_log
from nebsign.agent.state import AgentState

__all__ = ["SEGMENT_DIR", "FullVerification", "rotate_log", "verify_all"]

SEGMENT_DIR = "audit.log.d"


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError as exc:
        raise io_error(path, exc, "read") from exc
    return h.hexdigest()


def _segments(layout: AgentLayout) -> list[Path]:
    segdir = layout.root / SEGMENT_DIR
    try:
        names = sorted(n for n in os.listdir(segdir) if n.endswith(".log"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise io_error(segdir, exc, "read") from exc
    return [segdir / n for n in names]


def rotate_log(session: Session) -> str | None:
    """Seal the active log and start a new segment; return the sealed name (None if empty)."""
    layout = session.layout
    head = session.log.head
    if head is None:
        return None
    first = next(iter(read_entries(layout.log_file)))[0].seq
    name = f"{first:012d}-{head.seq:012d}.log"
    segdir = layout.root / SEGMENT_DIR
    sealed = segdir / name
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(segdir, 0o750)
        layout.check()
        try:
            os.link(layout.log_file, sealed, follow_symlinks=False)
        except FileExistsError:
            if not os.path.samefile(layout.log_file, sealed):
                raise
        fsync_dir(segdir)
    except OSError as exc:
        raise io_error(sealed, exc, "seal") from exc
    session.step("log-sealed")
    tmp = layout.root / f".audit.log.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    fresh = AuditLog(tmp, head)
    new_head = fresh.append(
        ROTATED,
        {
            "floor": session.state.highest,
            "segment": f"{SEGMENT_DIR}/{name}",
            "segment_entries": head.seq - first + 1,
            "segment_sha256": _file_sha256(sealed),
        },
    )
    try:
        os.replace(tmp, layout.log_file)
        fsync_dir(layout.root)
    except OSError as exc:
        raise io_error(layout.log_file, exc, "replace") from exc
    session.step("log-rotated")
    session.log = AuditLog(layout.log_file, new_head, (), fresh.last, fresh.prefix_hasher)
    session.save(session.state)
    return f"{SEGMENT_DIR}/{name}"


@dataclass(frozen=True, slots=True)
class FullVerification:
    entries: int
    segments: int
    head: LogHead | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "head": None if self.head is None else self.head.to_dict(),
            "ok": True,
            "segments": self.segments,
        }


def verify_all(layout: AgentLayout, state: AgentState) -> FullVerification:
    """Every line of every sealed segment and of the active log, linked, and the state's floor.

    Raises :class:`LogTampered` (exit 1) for any edit, deletion, reordering
    or truncation, a segment whose bytes changed after it was sealed or that
    is missing between two others; a state whose floor the log contradicts
    is refused as in every command. Verification starts at the oldest
    segment present: archiving old segments off-host and removing them is
    the retention policy.
    """
    prev_head: LogHead | None = None
    prev_path: Path | None = None
    last = None
    entries = 0
    try:
        active = os.stat(layout.log_file)
        unfinished = {(active.st_dev, active.st_ino)}
    except FileNotFoundError:
        unfinished = set()
    sealed = [p for p in _segments(layout) if (p.stat().st_dev, p.stat().st_ino) not in unfinished]
    for seg in [*sealed, layout.log_file]:
        is_active = seg == layout.log_file
        result = verify_log(seg, state.log if is_active else None)
        entries += result.entries
        last = result.last
        first = next(iter(read_entries(seg)), None)
        if prev_head is not None:
            assert prev_path is not None
            entry = first[0] if first is not None else None
            if (
                entry is None
                or entry.event != ROTATED
                or (entry.seq, entry.prev) != (prev_head.seq + 1, prev_head.sha256)
                or entry.details.get("segment_sha256") != _file_sha256(prev_path)
            ):
                raise LogTampered(
                    f"{seg}: does not continue the sealed segment {prev_path.name} "
                    "(a segment was edited, removed or replaced)"
                )
        prev_head, prev_path = result.head, seg
        if is_active:
            check_state_against_log(layout, state, result)
    check_floor(layout, state, last)
    return FullVerification(entries, len(sealed), prev_head)
