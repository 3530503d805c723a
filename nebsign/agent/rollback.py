"""``agent rollback`` and ``agent status``.

Rollback goes to the newest installed release older than current (or the
named one), after re-checking it: ``meta/release.json`` must still hash to the
digest recorded at install time, and ``payload/`` (and ``unpacked/``, against
``meta/tree.json``) must match it file for file. Then the same atomic switch
as an install. A release that does not re-check is refused and left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from nebsign._internal.readlimit import read_bounded
from nebsign.agent.auditlog import LogTampered, verify_from_checkpoint
from nebsign.agent.hooks import run_hook
from nebsign.agent.layout import AgentLayout
from nebsign.agent.session import (
    Session,
    StateMismatch,
    check_floor,
    check_state_against_log,
    open_session,
)
from nebsign.agent.source import MANIFEST_FILE, PAYLOAD_DIR
from nebsign.agent.state import ReleaseRecord, load_state
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, NebsignError, VerdictError
from nebsign.manifest import MAX_MANIFEST_BYTES
from nebsign.policy.host import HookSpec
from nebsign.tree import load_and_verify_tree

__all__ = [
    "AgentStatus",
    "CorruptRelease",
    "NothingToRollBack",
    "RollbackOutcome",
    "agent_status",
    "recheck_release",
    "rollback",
    "rollback_in_session",
]

Step = Callable[[str], None]


class CorruptRelease(VerdictError):
    reason: ClassVar[str] = "corrupt-release"


class NothingToRollBack(InputError):
    reason: ClassVar[str] = "no-target"


@dataclass(frozen=True, slots=True)
class RollbackOutcome:
    previous: str | None
    current: ReleaseRecord

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.previous, "to": self.current.version, **self.current.to_dict()}


def recheck_release(layout: AgentLayout, record: ReleaseRecord) -> None:
    """Raise :class:`CorruptRelease` unless the installed files match the stored manifest."""
    rdir = layout.release_dir(record.version)
    where = f"release {record.version} ({rdir})"
    if not layout.release_is_dir(record.version):
        raise CorruptRelease(f"{where} is missing or a symbolic link; refusing to roll back to it")
    try:
        raw = read_bounded(rdir / "meta" / MANIFEST_FILE, MAX_MANIFEST_BYTES, "stored manifest")
    except InputError as exc:
        raise CorruptRelease(f"{where}: stored manifest unreadable: {exc.message}") from exc
    if sha256_bytes(raw) != record.manifest_sha256:
        raise CorruptRelease(
            f"{where}: stored release.json no longer has the verified digest; refusing to roll back"
        )
    _, diff = load_and_verify_tree(raw, rdir / PAYLOAD_DIR, what="stored manifest")
    if not diff.ok:
        first = diff.changed[0].path if diff.changed else (diff.missing or diff.extra)[0]
        raise CorruptRelease(
            f"{where} is corrupted: {len(diff.changed)} changed, {len(diff.missing)} missing, "
            f"{len(diff.extra)} extra files (first: payload/{first}); refusing to roll back"
        )
    if record.tree_sha256 is not None:
        try:
            traw = read_bounded(rdir / "meta" / "tree.json", MAX_MANIFEST_BYTES, "unpacked tree")
        except InputError as exc:
            raise CorruptRelease(f"{where}: unpacked tree unreadable: {exc.message}") from exc
        if sha256_bytes(traw) != record.tree_sha256:
            raise CorruptRelease(f"{where}: meta/tree.json changed; refusing to roll back")
        _, tdiff = load_and_verify_tree(traw, rdir / "unpacked", what="unpacked tree")
        if not tdiff.ok:
            raise CorruptRelease(f"{where}: unpacked files changed; refusing to roll back")


def rollback_in_session(
    session: Session, to: str | None, *, hooks: HookSpec | None = None, recheck: bool = True
) -> RollbackOutcome:
    state = session.state
    target = state.record(to) if to is not None else state.previous
    if target is None:
        what = f"version {to} is not installed" if to is not None else "no older release"
        raise NothingToRollBack(
            f"cannot roll back: {what}",
            hint="`nebsign agent status` lists the installed releases",
        )
    if target.version == state.current:
        raise NothingToRollBack(f"cannot roll back: {target.version} is already current")
    previous = state.current
    try:
        if recheck:
            recheck_release(session.layout, target)
    except NebsignError as exc:
        session.record(
            "rollback-refused",
            {"version": target.version, "reason": "corrupt-release", "message": exc.message},
        )
        raise
    session.step("rechecked")
    session.switch(target.version)
    session.record(
        "rolled-back",
        {"from": previous, "to": target.version, "manifest": f"sha256:{target.manifest_sha256}"},
        replace(state, current=target.version),
    )
    if hooks is not None and hooks.post_switch:
        env = {
            "NEBSIGN_RELEASE_DIR": str(session.layout.release_dir(target.version)),
            "NEBSIGN_RELEASE_VERSION": target.version,
        }
        result = run_hook(hooks.post_switch, timeout=hooks.post_timeout, env=env)
        if not result.ok:
            session.record(
                "post-switch-failed", {"version": target.version, "message": result.describe()}
            )
    return RollbackOutcome(previous, target)


def rollback(
    root: Path, to: str | None = None, *, hooks: HookSpec | None = None, step: Step | None = None
) -> RollbackOutcome:
    """Switch back to the previous (or *to*) installed release after re-checking it."""
    with open_session(root, step) as session:
        return rollback_in_session(session, to, hooks=hooks)


@dataclass(frozen=True, slots=True)
class AgentStatus:
    root: Path
    current: str | None
    linked: str | None
    highest: str | None
    releases: tuple[ReleaseRecord, ...]
    log_entries: int
    log_ok: bool
    log_problem: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "highest": self.highest,
            "linked": self.linked,
            "log": {"entries": self.log_entries, "ok": self.log_ok, "problem": self.log_problem},
            "releases": [r.to_dict() for r in self.releases],
            "root": str(self.root),
        }


def agent_status(root: Path) -> AgentStatus:
    """Read-only view of the agent root (no lock, no recovery)."""
    layout = AgentLayout(root)
    layout.require_root()
    state = load_state(layout.state_file)
    problem: str | None = None
    entries = 0
    try:
        result = verify_from_checkpoint(layout.log_file, state.log)
        entries = result.entries
        check_state_against_log(layout, state, result)
        check_floor(layout, state, result.last)
    except (LogTampered, StateMismatch) as exc:
        problem = exc.diagnostics()
    return AgentStatus(
        root,
        state.current,
        layout.current_version(),
        state.highest,
        state.releases,
        entries,
        problem is None,
        problem,
    )
