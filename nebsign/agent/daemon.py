"""``agent run``: install new releases from an inbox directory or a polled URL.

Inbox convention (never a partially written release):

* a release is a directory ``<inbox>/<name>/`` in the published layout;
* it is taken only once ``<inbox>/<name>/.ready`` exists: the publisher
  writes that marker last (after ``fsync``), or builds the directory under a
  name starting with ``.`` and renames it in with the marker already inside;
* names starting with ``.`` are never taken;
* after a decision the directory is moved to ``<inbox>/.done/`` (installed or
  already installed) or ``<inbox>/.rejected/`` (refused; the audit log says why).

Even a marker written too early cannot get unverified bytes installed: the
agent copies each file once and verifies the copies; an incomplete release
is refused, logged, and the current one keeps serving.

URL mode polls ``<url>/release.json``; when its SHA-256 changes the release
is installed (or refused) once. Environment faults (network down, a stalled
download, disk full, the lock held by an operator's rollback) are not the
release's fault: they are reported and the release is tried again at the
next poll (each attempt that got as far as the release is in the audit log).

The loop stops at the next check of *stop* (SIGTERM sets it in the CLI): an
install in progress finishes first, so a stop never leaves a half-done switch.
Each release takes the agent lock for its own install only, so an operator's
``agent rollback`` can run while the daemon waits.
"""

from __future__ import annotations

import contextlib
import enum
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nebsign._internal.fetch import fetch_bytes, join_location, location_alias
from nebsign._internal.printable import printable
from nebsign.agent.install import install_release
from nebsign.agent.layout import AgentBusy
from nebsign.agent.session import open_session
from nebsign.agent.source import MANIFEST_FILE, redact
from nebsign.agent.stage import fetch_limits
from nebsign.digest import sha256_bytes
from nebsign.errors import EnvironmentFault, InputError, NebsignError
from nebsign.policy.host import HostPolicy

__all__ = [
    "READY_MARKER",
    "DaemonStats",
    "DaemonStopped",
    "Event",
    "EventKind",
    "Inbox",
    "StopControl",
    "run_daemon",
]

READY_MARKER = ".ready"


class EventKind(enum.Enum):
    INSTALLED = "installed"
    UNCHANGED = "already-installed"
    REFUSED = "refused"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    location: str
    detail: str


@dataclass(slots=True)
class DaemonStats:
    installed: int = 0
    refused: int = 0
    errors: int = 0
    polls: int = 0
    abandoned: bool = False
    seen: set[str] = field(default_factory=set)


Report = Callable[[Event], None]


class DaemonStopped(BaseException):
    """Raised from the stop signal's handler to abandon a staging install (crash-safe)."""


class StopControl:
    """The stop request of a daemon: an event, and whether an install may be abandoned.

    :meth:`request` is what the CLI's SIGTERM handler calls. While an install
    is still staging (nothing in ``releases/`` yet), the request raises
    :class:`DaemonStopped` in the main thread, which interrupts even a
    blocking read; later steps (switch, log, hooks) are bounded and finish.
    """

    def __init__(self, event: threading.Event | None = None) -> None:
        self.event = event if event is not None else threading.Event()
        self.abandonable = False

    def request(self) -> None:
        self.event.set()
        if self.abandonable:
            self.abandonable = False
            raise DaemonStopped

    def step(self, name: str) -> None:
        if name in _COMMIT_STEPS:
            self.abandonable = False


#: From these steps on an install is committed: it finishes before the daemon stops.
_COMMIT_STEPS = frozenset({"fsynced-stage", "marked-complete"})

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_BUCKETS = (".done", ".rejected")


class Inbox:
    """The inbox directory, used only through descriptors: nothing in it is followed.

    Entries are examined with ``fstatat(AT_SYMLINK_NOFOLLOW)``, release
    directories opened with ``O_NOFOLLOW`` and installed through that
    descriptor (``/proc/self/fd/N``), and decisions filed with ``renameat``
    into ``.done``/``.rejected``, which the agent creates itself and refuses
    to use when they are anything but real directories.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise InputError(
                f"inbox {printable(str(path))}: cannot open: {exc.strerror or exc}"
            ) from exc

    def close(self) -> None:
        os.close(self.fd)

    def shown(self, name: str) -> str:
        return printable(f"{self.path}/{name}")

    def names(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.fd) if not n.startswith("."))
        except OSError as exc:
            raise EnvironmentFault(
                f"cannot read inbox {printable(str(self.path))}: {exc.strerror or exc}"
            ) from exc

    def kind(self, name: str) -> str | None:
        """'release' (a ready directory), 'pending' (not ready), 'unsafe', or None (gone)."""
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISREG(st.st_mode):
            return "pending"  # a plain file is not a release; it is left alone
        if not stat.S_ISDIR(st.st_mode):
            return "unsafe"  # symlink, FIFO, socket, device: never opened
        try:
            mst = os.stat(READY_MARKER, dir_fd=self.open_release(name), follow_symlinks=False)
        except FileNotFoundError:
            return "pending"
        finally:
            self.close_release()
        return "release" if stat.S_ISREG(mst.st_mode) else "unsafe"

    _release_fd = -1

    def open_release(self, name: str) -> int:
        self.close_release()
        self._release_fd = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
        return self._release_fd

    def close_release(self) -> None:
        if self._release_fd >= 0:
            os.close(self._release_fd)
            self._release_fd = -1

    def _bucket(self, bucket: str) -> int:
        with contextlib.suppress(FileExistsError):
            os.mkdir(bucket, 0o755, dir_fd=self.fd)
        try:
            return os.open(bucket, _DIR_FLAGS, dir_fd=self.fd)
        except OSError as exc:
            raise InputError(
                f"inbox {printable(str(self.path))}/{bucket} is not a real directory "
                f"({exc.strerror or exc}); decisions are not filed through a link",
                hint=f"remove {printable(str(self.path))}/{bucket}; the agent recreates it",
            ) from exc

    def file_away(self, name: str, bucket: str) -> None:
        """``renameat`` *name* into *bucket* under a free name; nothing is followed."""
        assert bucket in _BUCKETS
        bfd = self._bucket(bucket)
        try:
            dest, n = name, 1
            while True:
                try:
                    os.stat(dest, dir_fd=bfd, follow_symlinks=False)
                except FileNotFoundError:
                    break
                dest, n = f"{name}.{n}", n + 1
            os.rename(name, dest, src_dir_fd=self.fd, dst_dir_fd=bfd)
        except OSError as exc:
            raise EnvironmentFault(
                f"cannot move {self.shown(name)} to {bucket}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(bfd)


def _attempt(
    policy: HostPolicy,
    location: str,
    shown: str,
    stats: DaemonStats,
    report: Report,
    control: StopControl,
) -> str | None:
    """Install one release; return the inbox bucket, or None to retry later."""
    try:
        control.abandonable = True
        try:
            out = install_release(policy, location, step=control.step)
        finally:
            control.abandonable = False
    except (AgentBusy, EnvironmentFault) as exc:
        # Busy lock, network down, disk full: not the release's fault; try again later.
        stats.errors += 1
        report(Event(EventKind.ERROR, shown, exc.diagnostics()))
        return None
    except NebsignError as exc:
        stats.refused += 1
        report(Event(EventKind.REFUSED, shown, exc.diagnostics()))
        return ".rejected"
    if out.status.value == "installed":
        stats.installed += 1
        report(Event(EventKind.INSTALLED, shown, out.record.version))
    else:
        report(Event(EventKind.UNCHANGED, shown, out.record.version))
    return ".done"


def _log_unsafe_entry(policy: HostPolicy, shown: str, why: str) -> bool:
    """Record an inbox entry refused without an install attempt in the audit log too.

    False when another agent holds the lock (the entry is retried next poll).
    """
    details = {"reason": "unsafe-inbox-entry", "message": why, "source": shown}
    try:
        with open_session(policy.root, create=True) as session:
            session.record("refused", details)
    except AgentBusy:
        return False
    return True


def _poll_inbox(
    policy: HostPolicy, inbox: Inbox, stats: DaemonStats, report: Report, control: StopControl
) -> None:
    for name in inbox.names():
        if control.event.is_set():
            return
        if name in stats.seen:
            continue
        shown = inbox.shown(name)
        try:
            kind = inbox.kind(name)
            if kind == "unsafe":
                why = "not a release directory (a link or a special file); never opened"
                if not _log_unsafe_entry(policy, shown, why):
                    continue
                stats.refused += 1
                report(Event(EventKind.REFUSED, shown, why))
                bucket: str | None = ".rejected"
            elif kind == "release":
                location = f"/proc/self/fd/{inbox.open_release(name)}"
                try:
                    with location_alias(location, shown):
                        bucket = _attempt(policy, location, shown, stats, report, control)
                finally:
                    inbox.close_release()
            else:
                continue
            if bucket is not None:
                inbox.file_away(name, bucket)
        except OSError as exc:
            stats.errors += 1
            report(Event(EventKind.ERROR, shown, f"cannot read: {exc.strerror or exc}"))
            stats.seen.add(name)
        except NebsignError as exc:
            stats.errors += 1
            report(Event(EventKind.ERROR, shown, exc.diagnostics()))
            stats.seen.add(name)


def _poll_url(
    policy: HostPolicy, url: str, stats: DaemonStats, report: Report, control: StopControl
) -> None:
    limits = fetch_limits(policy)
    try:
        control.abandonable = True  # nothing is written yet: a stop may interrupt the poll
        try:
            raw = fetch_bytes(
                join_location(url, MANIFEST_FILE),
                limit=policy.limits.max_manifest_bytes,
                limits=limits,
            )
        finally:
            control.abandonable = False
    except NebsignError as exc:
        stats.errors += 1
        report(Event(EventKind.ERROR, redact(url), exc.diagnostics()))
        return
    digest = sha256_bytes(raw)
    if digest in stats.seen:
        return
    if _attempt(policy, url, redact(url), stats, report, control) is not None:
        stats.seen.add(digest)


def run_daemon(
    policy: HostPolicy,
    *,
    inbox: Path | None = None,
    url: str | None = None,
    interval: float = 30.0,
    stop: threading.Event | StopControl,
    report: Report,
    once: bool = False,
) -> DaemonStats:
    """Poll until *stop* is set (or once); every decision is also in the audit log.

    With a :class:`StopControl` whose :meth:`~StopControl.request` is called
    from a signal handler, a stop also abandons an install that is still
    staging, so the daemon stops within a bounded time whatever a source does.
    """
    if (inbox is None) == (url is None):
        raise ValueError("give exactly one of inbox and url")
    control = stop if isinstance(stop, StopControl) else StopControl(stop)
    stats = DaemonStats()
    box = Inbox(inbox) if inbox is not None else None
    try:
        while not control.event.is_set():
            stats.polls += 1
            if box is not None:
                _poll_inbox(policy, box, stats, report, control)
            else:
                assert url is not None
                _poll_url(policy, url, stats, report, control)
            if once:
                break
            control.event.wait(interval)
    except DaemonStopped:
        stats.abandoned = True
    finally:
        if box is not None:
            box.close_release()
            box.close()
    return stats
