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

import enum
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nebsign._internal.fetch import fetch_bytes, join_location
from nebsign.agent.install import install_release
from nebsign.agent.layout import AgentBusy
from nebsign.agent.source import MANIFEST_FILE, redact
from nebsign.agent.stage import fetch_limits
from nebsign.digest import sha256_bytes
from nebsign.errors import EnvironmentFault, NebsignError
from nebsign.policy.host import HostPolicy

__all__ = ["READY_MARKER", "DaemonStats", "Event", "EventKind", "run_daemon"]

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
    seen: set[str] = field(default_factory=set)


Report = Callable[[Event], None]


def _ready(inbox: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(inbox))
    except OSError as exc:
        raise EnvironmentFault(f"cannot read inbox {inbox}: {exc.strerror or exc}") from exc
    out = []
    for name in names:
        if name.startswith("."):
            continue
        path = inbox / name
        if path.is_dir() and not path.is_symlink() and (path / READY_MARKER).is_file():
            out.append(path)
    return out


def _file_away(path: Path, bucket: str) -> bool:
    dest_dir = path.parent / bucket
    try:
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / path.name
        n = 1
        while dest.exists():
            dest = dest_dir / f"{path.name}.{n}"
            n += 1
        os.rename(path, dest)
    except OSError:
        return False
    return True


def _attempt(policy: HostPolicy, location: str, stats: DaemonStats, report: Report) -> str | None:
    """Install one release; return the inbox bucket, or None to retry later."""
    shown = redact(location)
    try:
        out = install_release(policy, location)
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


def _poll_inbox(
    policy: HostPolicy, inbox: Path, stats: DaemonStats, report: Report, stop: threading.Event
) -> None:
    for path in _ready(inbox):
        if stop.is_set():
            return
        key = str(path)
        if key in stats.seen:
            continue
        bucket = _attempt(policy, key, stats, report)
        if bucket is not None and not _file_away(path, bucket):
            stats.seen.add(key)


def _poll_url(policy: HostPolicy, url: str, stats: DaemonStats, report: Report) -> None:
    limits = fetch_limits(policy)
    try:
        raw = fetch_bytes(
            join_location(url, MANIFEST_FILE), limit=policy.limits.max_manifest_bytes, limits=limits
        )
    except NebsignError as exc:
        stats.errors += 1
        report(Event(EventKind.ERROR, redact(url), exc.diagnostics()))
        return
    digest = sha256_bytes(raw)
    if digest in stats.seen:
        return
    if _attempt(policy, url, stats, report) is not None:
        stats.seen.add(digest)


def run_daemon(
    policy: HostPolicy,
    *,
    inbox: Path | None = None,
    url: str | None = None,
    interval: float = 30.0,
    stop: threading.Event,
    report: Report,
    once: bool = False,
) -> DaemonStats:
    """Poll until *stop* is set (or once); every decision is also in the audit log."""
    if (inbox is None) == (url is None):
        raise ValueError("give exactly one of inbox and url")
    stats = DaemonStats()
    while not stop.is_set():
        stats.polls += 1
        if inbox is not None:
            _poll_inbox(policy, inbox, stats, report, stop)
        else:
            assert url is not None
            _poll_url(policy, url, stats, report)
        if once:
            break
        stop.wait(interval)
    return stats
