"""``agent install``: stage, verify, check versions, move in, health-check, switch.

Every decision lands in the audit log: ``installed``, ``refused`` (with a
reason code and the message), ``health-check-failed``, ``post-switch-failed``.
A refusal leaves ``current`` and the state untouched apart from the log head.
"""

from __future__ import annotations

import enum
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from nebsign._internal.atomic import atomic_write, fsync_dir, io_error
from nebsign._internal.canonical import canonical_json
from nebsign._internal.fetch import check_url, is_url
from nebsign.agent.hooks import run_hook
from nebsign.agent.session import (
    COMPLETE_MARKER,
    RECORD_FILE,
    Session,
    after_switch,
    installed_details,
    open_session,
    same_kind,
    utc_text,
)
from nebsign.agent.source import redact
from nebsign.agent.stage import StagedRelease, reason_of, stage_metadata, stage_payload
from nebsign.agent.state import ReleaseRecord
from nebsign.errors import NebsignError, VerdictError
from nebsign.policy.host import HostPolicy
from nebsign.release_check import IgnoredBundle
from nebsign.versioning import ReleaseVersion

__all__ = [
    "Downgrade",
    "HealthCheckFailed",
    "InstallOutcome",
    "InstallStatus",
    "MixAndMatch",
    "install_in_session",
    "install_release",
    "prune",
]

Step = Callable[[str], None]


class Downgrade(VerdictError):
    reason: ClassVar[str] = "downgrade"


class MixAndMatch(VerdictError):
    reason: ClassVar[str] = "mix-and-match"


class HealthCheckFailed(VerdictError):
    reason: ClassVar[str] = "health-check"


class InstallStatus(enum.Enum):
    INSTALLED = "installed"
    ALREADY_INSTALLED = "already-installed"


@dataclass(frozen=True, slots=True)
class InstallOutcome:
    status: InstallStatus
    record: ReleaseRecord
    previous: str | None
    #: bundles that counted for nothing (malformed, or not verifying); the rest were judged
    ignored: tuple[IgnoredBundle, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "previous": self.previous,
            **self.record.to_dict(),
            "ignored": [i.to_dict() for i in self.ignored],
        }


def _check_version(session: Session, version: str, manifest_sha: str, shown: str) -> bool:
    """True if this exact release is already installed; raise on downgrade / mix-and-match."""
    state = session.state
    known = state.record(version)
    if known is not None:
        if known.manifest_sha256 == manifest_sha:
            return True
        raise MixAndMatch(
            f"release {shown}: version {version} is already installed with different content "
            f"(manifest sha256:{known.manifest_sha256[:16]}..., offered "
            f"sha256:{manifest_sha[:16]}...): mix-and-match refused"
        )
    if state.highest is not None and not (
        ReleaseVersion.parse(state.highest) < ReleaseVersion.parse(version)
    ):
        raise Downgrade(
            f"release {shown}: version {version} is not newer than {state.highest}, the newest "
            "ever installed: downgrade refused",
            hint="to go back to an installed release use `nebsign agent rollback --to VERSION`",
        )
    return False


def install_release(
    policy: HostPolicy,
    location: str,
    *,
    now: datetime | None = None,
    step: Step | None = None,
) -> InstallOutcome:
    """Install the release at *location* (directory or URL) under *policy*'s root."""
    if is_url(location):
        check_url(location)  # a malformed URL is bad input, before anything is locked or logged
    with open_session(policy.root, step, create=True) as session:
        return install_in_session(session, policy, location, now=now)


def install_in_session(
    session: Session, policy: HostPolicy, location: str, *, now: datetime | None = None
) -> InstallOutcome:
    """Install inside an open session (the daemon keeps one per release)."""
    shown = redact(location)
    when = now or datetime.now(UTC)
    stage = tempfile.mkdtemp(prefix="install-", dir=session.layout.staging)
    os.chmod(stage, 0o755)  # noqa: S103 - becomes releases/<v>; staging/ (0700) keeps it private
    stage_path = Path(stage)
    version: str | None = None
    session.switched = None
    try:
        meta = stage_metadata(location, stage_path, policy, when, session.step)
        version = meta.version
        if _check_version(session, meta.version, meta.manifest_sha256, shown):
            known = session.state.record(meta.version)
            assert known is not None
            return InstallOutcome(
                InstallStatus.ALREADY_INSTALLED, known, session.state.current, meta.ignored
            )
        session.step("checked-version")
        staged = stage_payload(location, stage_path, meta, policy, session.step)
        record = ReleaseRecord(
            version=meta.version,
            name=meta.name,
            manifest_sha256=meta.manifest_sha256,
            signers=meta.signers,
            attestations=meta.attestations,
            installed_at=utc_text(when),
            tree_sha256=staged.tree_sha256,
        )
        return _commit(session, policy, staged, record, shown)
    except NebsignError as exc:
        if session.switched is not None:
            # The release is live: this is not a refusal. Say what happened and let the
            # next command's recovery finish the log and the state (one attempt, one outcome).
            raise after_switch(session, exc) from exc
        if not isinstance(exc, HealthCheckFailed):
            details = {"reason": reason_of(exc), "message": exc.message, "source": shown}
            if version is not None:
                details["version"] = version
            _log_refusal(session, details, exc)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


#: An identical refusal repeated within this many seconds is not logged again
#: (a daemon retrying a broken URL every poll would otherwise add a line each time).
REPEAT_SECONDS = 3600


def _log_refusal(session: Session, details: dict[str, str], exc: NebsignError) -> None:
    last = session.log.last
    if (
        last is not None
        and last.event == "refused"
        and all(last.details.get(k) == v for k, v in details.items())
        and _age(last.time) < REPEAT_SECONDS
    ):
        return
    try:
        session.record("refused", details)
    except NebsignError as log_exc:
        # Keep the refusal's own message; add why it could not be logged.
        raise same_kind(
            log_exc, f"{exc.message}; and the refusal could not be logged: {log_exc.message}"
        ) from exc


def _age(stamp: str) -> float:
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return float("inf")
    return (datetime.now(UTC) - then).total_seconds()


def _commit(
    session: Session, policy: HostPolicy, staged: StagedRelease, record: ReleaseRecord, shown: str
) -> InstallOutcome:
    layout = session.layout
    atomic_write(staged.path / RECORD_FILE, canonical_json(record.to_dict()))
    atomic_write(staged.path / COMPLETE_MARKER, b"")
    session.step("marked-complete")
    target = layout.release_dir(record.version)
    try:
        if target.exists():  # a leftover the recovery did not own; never the current one
            shutil.rmtree(target)
        os.rename(staged.path, target)
        fsync_dir(layout.releases)
    except OSError as exc:
        raise io_error(target, exc, "install") from exc
    session.step("moved-into-releases")
    hook_env = {"NEBSIGN_RELEASE_DIR": str(target), "NEBSIGN_RELEASE_VERSION": record.version}
    if policy.hooks.health_check:
        result = run_hook(
            policy.hooks.health_check, timeout=policy.hooks.health_timeout, env=hook_env
        )
        if not result.ok:
            shutil.rmtree(target, ignore_errors=True)
            message = (
                f"release {shown}: health check {result.describe()}; "
                f"current stays at {session.state.current}"
            )
            session.record(
                "health-check-failed",
                {"version": record.version, "message": message, "output": result.output_tail},
            )
            raise HealthCheckFailed(message)
    session.step("health-checked")
    previous = session.state.current
    session.switch(record.version)
    details: dict[str, object] = {
        **installed_details(record),
        "previous": previous,
        "source": shown,
    }
    if staged.meta.ignored:
        details["ignored"] = [i.to_dict() for i in staged.meta.ignored]
    session.record("installed", details, session.state.with_release(record))
    session.step("state-saved")
    if policy.hooks.post_switch:
        result = run_hook(policy.hooks.post_switch, timeout=policy.hooks.post_timeout, env=hook_env)
        if not result.ok:
            session.record(
                "post-switch-failed",
                {
                    "version": record.version,
                    "message": result.describe(),
                    "output": result.output_tail,
                },
            )
        session.step("post-switch")
    prune(session, policy.keep)
    return InstallOutcome(InstallStatus.INSTALLED, record, previous, staged.meta.ignored)


def prune(session: Session, keep: int) -> None:
    """Remove the oldest releases beyond *keep* (never current or the rollback target)."""
    state = session.state
    protect = {state.current}
    if state.previous is not None:
        protect.add(state.previous.version)
    ordered = sorted(state.releases, key=lambda r: ReleaseVersion.parse(r.version), reverse=True)
    drop = [r.version for r in ordered[keep:] if r.version not in protect]
    if not drop:
        return
    session.record("pruned", {"versions": sorted(drop)}, state.without(set(drop)))
    session.step("pruned-state")
    for version in drop:
        shutil.rmtree(session.layout.release_dir(version), ignore_errors=True)
    session.step("pruned")
