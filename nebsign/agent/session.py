"""One locked agent session: crash recovery, the audit log, the state, the switch.

Every operation that changes the agent root (install, rollback, the daemon)
runs inside :func:`open_session`: it takes the lock, verifies the audit log
against the head kept in the state, and repairs what a crash may have left:

* ``staging/*`` and ``.current.tmp-*`` links are removed;
* if ``current`` points to a complete release the state does not list (a
  crash after the switch, before the state was saved) it is adopted from the
  record the install wrote into ``meta/record.json`` before switching;
* release directories that are neither in the state nor current (a crash
  before the switch, or while pruning) are removed.

The switch itself is ``symlink(releases/<v>, .current.tmp-<pid>)``,
``rename(.current.tmp-<pid>, current)``, ``fsync(root)``: at any instant
``current`` is the old link or the new one, and it only ever points to a
release directory whose files were fsynced and whose ``meta/COMPLETE`` exists.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from nebsign._internal.atomic import fsync_dir, io_error
from nebsign._internal.canonical import parse_json_object
from nebsign._internal.readlimit import read_bounded
from nebsign.agent.auditlog import AuditLog, LogEntry, LogHead, LogVerification
from nebsign.agent.layout import AgentLayout, UnsafeRoot, crash_point
from nebsign.agent.state import AgentState, ReleaseRecord, load_state, save_state
from nebsign.errors import EnvironmentFault, InputError, NebsignError, VerdictError
from nebsign.versioning import ReleaseVersion

__all__ = [
    "COMPLETE_MARKER",
    "RECORD_FILE",
    "DiskFull",
    "Session",
    "StateMismatch",
    "after_switch",
    "check_floor",
    "check_state_against_log",
    "installed_details",
    "load_record",
    "open_session",
    "same_kind",
    "utc_text",
]

COMPLETE_MARKER = "meta/COMPLETE"
RECORD_FILE = "meta/record.json"

Step = Callable[[str], None]


def utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Session:
    """The locked agent root: layout, state, log; :meth:`record` commits a decision."""

    layout: AgentLayout
    state: AgentState
    log: AuditLog
    step: Step
    #: the version ``current`` was switched to in this operation (None before the switch)
    switched: str | None = None

    def record(
        self, event: str, details: Mapping[str, Any], state: AgentState | None = None
    ) -> None:
        """Append *event* to the log, then save *state* (default: the current one) with the head.

        Every line carries ``floor``, the highest version ever installed once
        the event took effect: the downgrade floor lives in the hash chain,
        not only in ``state.json``.
        """
        new_state = state if state is not None else self.state
        try:
            head = self.log.append(event, {**details, "floor": new_state.highest})
        except NebsignError as exc:
            raise disk_fault(self.layout, exc, f"appending to {self.layout.log_file.name}") from exc
        self.step(f"logged-{event}")
        self.save(new_state, head)

    def save(self, state: AgentState, head: LogHead | None = None) -> None:
        """Save *state* with the log's head (default: the current one)."""
        new = replace(state, log=head if head is not None else self.log.head)
        try:
            save_state(self.layout.state_file, new)
        except NebsignError as exc:
            raise disk_fault(self.layout, exc, f"saving {self.layout.state_file.name}") from exc
        self.state = new

    def switch(self, version: str) -> None:
        """Atomically point ``current`` at ``releases/<version>`` and make it durable."""
        root = self.layout.root
        tmp = root / f".current.tmp-{os.getpid()}"
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(f"releases/{version}", tmp)
            self.step("link-created")
            os.rename(tmp, self.layout.current)
            self.switched = version
            self.step("link-switched")
            fsync_dir(root)
        except OSError as exc:
            raise io_error(self.layout.current, exc, "switch") from exc
        self.step("root-fsynced")


def _remove(path: Path) -> None:
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
    except OSError as exc:
        raise io_error(path, exc, "remove") from exc


def _unseal_unfinished(layout: AgentLayout) -> None:
    """Remove a sealed segment that is still the active log (rotation crashed before the swap)."""
    segdir = layout.root / "audit.log.d"
    try:
        names = os.listdir(segdir)
        active = os.stat(layout.log_file)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise io_error(segdir, exc, "read") from exc
    for name in names:
        try:
            st = os.lstat(segdir / name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise io_error(segdir / name, exc, "read") from exc
        if (st.st_dev, st.st_ino) == (active.st_dev, active.st_ino):
            _remove(segdir / name)
            fsync_dir(segdir)


def load_record(release_dir: Path) -> ReleaseRecord:
    raw = read_bounded(release_dir / RECORD_FILE, 1024 * 1024, "release record")
    return ReleaseRecord.from_dict(parse_json_object(raw, str(release_dir / RECORD_FILE)))


def _in_tail(session: Session, event: str, **match: object) -> bool:
    """True if an entry written just before a crash (after the anchor) matches."""
    return any(
        e.event == event and all(e.details.get(k) == v for k, v in match.items())
        for e in session.log.tail
    )


def _recover(session: Session) -> None:
    layout, state = session.layout, session.state
    for leftover in layout.staging.iterdir():
        _remove(leftover)
    for leftover in layout.root.glob(".current.tmp-*"):
        _remove(leftover)
    for leftover in layout.root.glob(".audit.log.tmp-*"):
        _remove(leftover)
    _unseal_unfinished(layout)
    linked = layout.current_version()
    if linked is not None and linked != state.current:
        release_dir = layout.release_dir(linked)
        if not layout.release_is_dir(linked) or not (release_dir / COMPLETE_MARKER).exists():
            raise StateMismatch(
                f"{layout.current} points to {linked}, which is not a complete release",
                hint=repair_hint(layout),
            )
        known = state.record(linked)
        if known is None:
            rec = load_record(release_dir)
            adopted = state.with_release(rec)
            if _in_tail(session, "installed", version=linked):
                session.save(adopted)  # the decision is logged; only the state was lost
            else:
                session.record(
                    "installed",
                    {**installed_details(rec), "recovered": True, "previous": state.current},
                    adopted,
                )
        elif _in_tail(session, "rolled-back", to=linked):
            session.save(replace(state, current=linked))
        else:
            session.record(
                "recovered",
                {"current": linked, "note": "switch completed before a crash; state updated"},
                replace(state, current=linked),
            )
    elif (
        linked is None
        and state.current is not None
        and layout.release_is_dir(state.current)
        and (layout.release_dir(state.current) / COMPLETE_MARKER).exists()
    ):
        session.switch(state.current)
        session.record("recovered", {"current": state.current, "note": "current link restored"})
    for entry in session.log.tail:
        versions = entry.details.get("versions")
        if entry.event == "pruned" and isinstance(versions, list):
            session.save(session.state.without({str(v) for v in versions}))
    if session.state.log != session.log.head:
        session.save(session.state)  # re-anchor after a crash between log and state
    keep = {r.version for r in session.state.releases}
    if session.state.current is not None:
        keep.add(session.state.current)
    for entry_dir in layout.releases.iterdir():
        if entry_dir.is_symlink() or not entry_dir.is_dir():
            if entry_dir.name == session.state.current:
                raise UnsafeRoot(
                    f"agent root {layout.root}: releases/{entry_dir.name}, the current release, "
                    "is a symbolic link or not a directory",
                    hint="the agent root was modified by hand; restore the release directory",
                )
            _remove(entry_dir)  # unlinks a planted link; never follows it
        elif entry_dir.name not in keep:
            _remove(entry_dir)
    fsync_dir(layout.releases)
    session.log.tail = ()


def installed_details(rec: ReleaseRecord) -> dict[str, Any]:
    return {
        "attestations": list(rec.attestations),
        "manifest": f"sha256:{rec.manifest_sha256}",
        "name": rec.name,
        "signers": list(rec.signers),
        "version": rec.version,
    }


@contextlib.contextmanager
def open_session(
    root: Path, step: Step | None = None, *, create: bool = False
) -> Iterator[Session]:
    """Lock *root*, verify the log, recover from any crash, yield the session.

    Only *create* (an install) may create the root; any other command on a
    directory that is not an agent root fails with exit 2, creating nothing.
    """

    def do_step(name: str) -> None:
        crash_point(name)
        if step is not None:
            step(name)

    layout = AgentLayout(root)
    with layout.locked(create=create):
        do_step("locked")
        state = load_state(layout.state_file)
        log = AuditLog.open(layout.log_file, state.log)
        check_state_against_log(layout, state, log)
        session = Session(layout, state, log, do_step)
        _recover(session)
        check_floor(session.layout, session.state, session.log.last)
        do_step("recovered")
        yield session


class DiskFull(EnvironmentFault):
    """The agent root's filesystem has no space left."""

    reason: ClassVar[str] = "disk-full"


def disk_fault(layout: AgentLayout, exc: NebsignError, doing: str) -> NebsignError:
    """Name the disk, not the file, when a write failed for lack of space."""
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(
            f"disk full: no space left on the filesystem holding {layout.root} "
            f"({doing} failed: {cause.strerror})",
            hint="free space there, then run any agent command: it completes what was left",
        )
    return exc


def after_switch(session: Session, exc: NebsignError) -> NebsignError:
    """The error to report when something failed after ``current`` went live."""
    version = session.switched
    why = exc.diagnostics()
    if isinstance(exc, DiskFull):
        why = exc.message
    return same_kind(
        exc,
        f"release {version} is installed and live (current -> releases/{version}), but {why}",
        hint="the next agent command records it in the audit log and state.json",
    )


def same_kind(exc: NebsignError, message: str, *, hint: str | None = None) -> NebsignError:
    """A new error with *message* and the exit code (and, where possible, class) of *exc*."""
    kinds: tuple[type[NebsignError], ...] = (DiskFull, VerdictError, InputError, EnvironmentFault)
    for kind in kinds:
        if isinstance(exc, kind):
            return kind(message, hint=hint)
    return EnvironmentFault(message, hint=hint)


class StateMismatch(InputError):
    """``state.json`` is missing, older than the audit log, or disagrees with it."""

    reason: ClassVar[str] = "state-mismatch"


def repair_hint(layout: AgentLayout) -> str:
    return (
        f"nothing was changed; after checking why, rebuild it from the verified log with "
        f"`nebsign agent repair --root {layout.root}`"
    )


def check_state_against_log(
    layout: AgentLayout, state: AgentState, log: AuditLog | LogVerification
) -> None:
    """Refuse a state that a crash cannot explain: missing, or more than one line behind.

    A crash between appending a line and saving the state leaves exactly one
    unanchored line, which recovery replays; more means ``state.json`` was
    deleted or an older copy put back, which would silently lower the
    downgrade floor.
    """
    behind = (
        len(log.tail) if state.log is not None else (0 if log.head is None else log.head.seq + 1)
    )
    if behind <= 1:
        return
    if not layout.state_file.exists():
        what = f"state.json is missing but the audit log has {behind} entries"
    else:
        what = f"state.json is {behind} entries behind the audit log (an older copy?)"
    raise StateMismatch(f"agent root {layout.root}: {what}", hint=repair_hint(layout))


def check_floor(layout: AgentLayout, state: AgentState, last: LogEntry | None) -> None:
    """The highest version in the state must be the floor the log's last line records."""
    if last is None or "floor" not in last.details:
        return  # an empty log, or lines written before the floor was logged
    floor = last.details["floor"]
    if floor == state.highest:
        return
    if isinstance(floor, str) and state.highest is not None:
        with contextlib.suppress(InputError):
            if ReleaseVersion.parse(floor) == ReleaseVersion.parse(state.highest):
                return
    raise StateMismatch(
        f"agent root {layout.root}: state.json says the highest installed version is "
        f"{state.highest}, the audit log says {floor}",
        hint=repair_hint(layout),
    )
