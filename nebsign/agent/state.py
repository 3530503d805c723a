"""The agent's monotonic state: installed releases, current, highest, log head.

``state.json`` is canonical JSON written atomically (temp file, fsync,
rename, fsync dir). ``highest`` only ever grows: a release that is not newer
than it is refused (downgrade), except through an explicit rollback to a
release that is still installed and re-checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nebsign._internal.atomic import atomic_write
from nebsign._internal.canonical import canonical_json, parse_json_object
from nebsign._internal.readlimit import read_bounded
from nebsign.agent.auditlog import LogHead
from nebsign.errors import InputError
from nebsign.versioning import ReleaseVersion

__all__ = ["STATE_TYPE", "AgentState", "ReleaseRecord", "load_state", "save_state"]

STATE_TYPE = "https://nebsign.dev/agent-state/v1"
MAX_STATE_BYTES = 16 * 1024 * 1024
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    """One installed, verified release."""

    version: str
    name: str
    manifest_sha256: str
    signers: tuple[str, ...]
    attestations: tuple[str, ...]
    installed_at: str
    tree_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attestations": list(self.attestations),
            "installed_at": self.installed_at,
            "manifest_sha256": self.manifest_sha256,
            "name": self.name,
            "signers": list(self.signers),
            "tree_sha256": self.tree_sha256,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, obj: object) -> ReleaseRecord:
        if not isinstance(obj, dict):
            raise InputError("state: a release record must be an object")
        try:
            version, name, digest = obj["version"], obj["name"], obj["manifest_sha256"]
            signers, atts, when = obj["signers"], obj["attestations"], obj["installed_at"]
            tree = obj.get("tree_sha256")
        except KeyError as exc:
            raise InputError(f"state: release record lacks {exc.args[0]!r}") from exc
        if not all(isinstance(v, str) for v in (version, name, digest, when)):
            raise InputError("state: release record fields must be strings")
        bad_tree = tree is not None and not (isinstance(tree, str) and _HEX.fullmatch(tree))
        if not _HEX.fullmatch(digest) or bad_tree:
            raise InputError("state: release record digest is not 64 lowercase hex")
        ReleaseVersion.parse(version)
        if not isinstance(signers, list) or not all(isinstance(s, str) for s in signers):
            raise InputError("state: signers must be a list of strings")
        if not isinstance(atts, list) or not all(isinstance(s, str) for s in atts):
            raise InputError("state: attestations must be a list of strings")
        return cls(version, name, digest, tuple(signers), tuple(atts), when, tree)


@dataclass(frozen=True, slots=True)
class AgentState:
    """Everything the agent must remember across restarts."""

    releases: tuple[ReleaseRecord, ...] = ()
    current: str | None = None
    highest: str | None = None
    log: LogHead | None = None

    def record(self, version: str) -> ReleaseRecord | None:
        want = ReleaseVersion.parse(version)
        for rec in self.releases:
            if ReleaseVersion.parse(rec.version) == want:
                return rec
        return None

    @property
    def current_record(self) -> ReleaseRecord | None:
        return None if self.current is None else self.record(self.current)

    @property
    def previous(self) -> ReleaseRecord | None:
        """The newest installed release older than current (the rollback target)."""
        if self.current is None:
            return None
        cur = ReleaseVersion.parse(self.current)
        older = [r for r in self.releases if ReleaseVersion.parse(r.version) < cur]
        return max(older, key=lambda r: ReleaseVersion.parse(r.version), default=None)

    def with_release(self, rec: ReleaseRecord) -> AgentState:
        """Add *rec*, make it current and raise ``highest``."""
        others = tuple(r for r in self.releases if r.version != rec.version)
        highest = self.highest
        if highest is None or ReleaseVersion.parse(highest) < ReleaseVersion.parse(rec.version):
            highest = rec.version
        return replace(self, releases=(*others, rec), current=rec.version, highest=highest)

    def without(self, versions: set[str]) -> AgentState:
        return replace(self, releases=tuple(r for r in self.releases if r.version not in versions))

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": STATE_TYPE,
            "current": self.current,
            "highest": self.highest,
            "log": None if self.log is None else self.log.to_dict(),
            "releases": [r.to_dict() for r in self.releases],
        }

    def to_json(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes, what: str = "state") -> AgentState:
        # written back as canonical JSON: refuse what RFC 8785 cannot write on the way in
        obj = parse_json_object(raw, what, limit=MAX_STATE_BYTES, canonical_ints=True)
        if obj.get("_type") != STATE_TYPE:
            raise InputError(f"{what}: _type must be {STATE_TYPE!r}")
        releases_raw = obj.get("releases")
        if not isinstance(releases_raw, list):
            raise InputError(f"{what}: 'releases' must be a list")
        releases = tuple(ReleaseRecord.from_dict(r) for r in releases_raw)
        current, highest = obj.get("current"), obj.get("highest")
        for key, value in (("current", current), ("highest", highest)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"{what}: {key!r} must be a string or null")
        log_raw = obj.get("log")
        log = None if log_raw is None else LogHead.from_dict(log_raw)
        return cls(releases, current, highest, log)


def load_state(path: Path) -> AgentState:
    """Read ``state.json``; a missing file is the empty state."""
    if not path.exists():
        return AgentState()
    return AgentState.from_json(read_bounded(path, MAX_STATE_BYTES, "agent state"), str(path))


def save_state(path: Path, state: AgentState) -> None:
    """Atomically replace ``state.json`` (fsynced file and directory)."""
    atomic_write(path, state.to_json(), 0o644)
