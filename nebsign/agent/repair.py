"""``agent repair``: rebuild ``state.json`` from the verified audit log and the releases.

The agent refuses to run when ``state.json`` is missing, older than the log,
or disagrees with it (see :mod:`nebsign.agent.session`): deleting the state
or putting back an older copy must never reset the downgrade floor. This is
the explicit way out, after an operator has looked at why:

* the whole active log must verify as a hash chain (a tampered log is not
  repaired: exit 1);
* the floor (highest version ever installed) is the largest ``floor`` or
  ``installed`` version in the log, so it can only stay where it was;
* releases are the complete ``releases/<v>`` directories that the log
  records installing (same manifest digest, any segment) and that re-check
  against their stored manifest (others are left out and named);
* ``current`` stays where it points when that release is among them, else
  it is switched to the newest of them (or removed when there is none);
* the new state is saved and a ``repaired`` line is logged with what changed.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nebsign._internal.atomic import fsync_dir, io_error
from nebsign.agent.auditlog import AuditLog, read_entries
from nebsign.agent.layout import AgentLayout
from nebsign.agent.rollback import recheck_release
from nebsign.agent.session import COMPLETE_MARKER, load_record
from nebsign.agent.state import AgentState, ReleaseRecord, save_state
from nebsign.errors import NebsignError
from nebsign.versioning import ReleaseVersion

__all__ = ["RepairOutcome", "repair"]


@dataclass(frozen=True, slots=True)
class RepairOutcome:
    state: AgentState
    floor: str | None
    skipped: tuple[str, ...]
    had_state: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.state.current,
            "floor": self.floor,
            "had_state": self.had_state,
            "highest": self.state.highest,
            "releases": [r.version for r in self.state.releases],
            "skipped": list(self.skipped),
        }


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    return a if ReleaseVersion.parse(b) < ReleaseVersion.parse(a) else b


def _log_files(layout: AgentLayout) -> list[Path]:
    segdir = layout.root / "audit.log.d"
    sealed = sorted(segdir.glob("*.log")) if segdir.is_dir() else []
    return [*sealed, layout.log_file]


def log_facts(layout: AgentLayout) -> tuple[str | None, set[tuple[str, str]]]:
    """The floor and the (version, manifest digest) pairs the log says were installed.

    Every segment is read (each chain checked); repair is rare, so its cost
    may grow with the log.
    """
    floor: str | None = None
    installed: set[tuple[str, str]] = set()
    for path in _log_files(layout):
        for entry, _prev in read_entries(path):
            logged = entry.details.get("floor")
            if isinstance(logged, str):
                floor = _newer(floor, logged)
            version, manifest = entry.details.get("version"), entry.details.get("manifest")
            if entry.event == "installed" and isinstance(version, str):
                floor = _newer(floor, version)
                if isinstance(manifest, str):
                    installed.add((version, manifest.removeprefix("sha256:")))
    return floor, installed


def _releases(
    layout: AgentLayout, installed: set[tuple[str, str]]
) -> tuple[list[ReleaseRecord], list[str]]:
    good: list[ReleaseRecord] = []
    skipped: list[str] = []
    for entry in sorted(os.listdir(layout.releases)):
        if (
            not layout.release_is_dir(entry)
            or not (layout.release_dir(entry) / COMPLETE_MARKER).is_file()
        ):
            skipped.append(f"{entry}: not a complete release directory")
            continue
        try:
            rec = load_record(layout.release_dir(entry))
            if rec.version != entry:
                skipped.append(f"{entry}: its record names {rec.version}")
                continue
            if (rec.version, rec.manifest_sha256) not in installed:
                skipped.append(f"{entry}: the audit log never recorded installing it")
                continue
            recheck_release(layout, rec)
        except NebsignError as exc:
            skipped.append(f"{entry}: {exc.message}")
            continue
        good.append(rec)
    return good, skipped


def _switch(layout: AgentLayout, version: str | None) -> None:
    tmp = layout.root / f".current.tmp-{os.getpid()}"
    try:
        if version is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(layout.current)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(f"releases/{version}", tmp)
            os.rename(tmp, layout.current)
        fsync_dir(layout.root)
    except OSError as exc:
        raise io_error(layout.current, exc, "switch") from exc


def repair(root: Path) -> RepairOutcome:
    """Rebuild the state of the agent root *root* (see the module docstring)."""
    layout = AgentLayout(root)
    with layout.locked():
        had_state = layout.state_file.exists()
        log = AuditLog.open(layout.log_file, None)  # the whole chain, no anchor trusted
        floor, installed = log_facts(layout)
        releases, skipped = _releases(layout, installed)
        try:
            linked = layout.current_version()
        except NebsignError:
            linked = None
        versions = {r.version for r in releases}
        current = linked if linked in versions else None
        if current is None and releases:
            current = max(versions, key=ReleaseVersion.parse)
        if current != linked:
            _switch(layout, current)
        highest = floor
        for rec in releases:
            highest = _newer(highest, rec.version)
        state = AgentState(tuple(releases), current, highest, log.head)
        head = log.append(
            "repaired",
            {
                "current": current,
                "floor": highest,
                "had_state": had_state,
                "releases": sorted(versions),
                "skipped": skipped,
            },
        )
        state = AgentState(tuple(releases), current, highest, head)
        save_state(layout.state_file, state)
    return RepairOutcome(state, floor, tuple(skipped), had_state)
