"""The publisher's side: write signed channel statements into a static store.

Store layout (any static HTTP server or object store serves it as files)::

    STORE/channels/<name>.json                       the current channel statement
    STORE/channels/sigs/<hex>.sigstore.json          signature over its SHA-256 (<hex>)
    STORE/channels/sigs/<hex>.<n>.sigstore.json      more signers (k-of-n), n = 2, 3, ...
    STORE/channels/history/<name>/<sequence>.json    every statement ever published
    STORE/evidence/<hex>.sigstore.json               gate attestation bundles, by SHA-256
    STORE/<path>/                                    the releases, in the agent's layout

Signatures and evidence are content-addressed, so they are written before
the statement that names them and never change: a host never sees a new
statement with an old signature. The statement is written last, atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from nebsign._internal.atomic import atomic_write
from nebsign._internal.readlimit import read_bounded
from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
from nebsign.channels.model import (
    MAX_CHANNEL_BYTES,
    MAX_SIGNERS,
    ChannelStatement,
    Phase,
    channel_path,
    check_channel_name,
    evidence_path,
    history_dir,
    phase_of,
    signature_paths,
)
from nebsign.channels.rules import GateEvidence, PromotionRules, check_promotion
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, NebsignError, VerdictError
from nebsign.keys import PrivateKey
from nebsign.manifest import MAX_MANIFEST_BYTES, Manifest
from nebsign.versioning import ReleaseVersion

if TYPE_CHECKING:
    from nebsign.policy.trust import TrustPolicy

__all__ = [
    "NotARollback",
    "Published",
    "history",
    "previous_version",
    "promote",
    "publish_statement",
    "rollback",
    "rollback_command",
]

_RULES = PromotionRules()


class NotARollback(InputError):
    """``rollback --to`` names a version that is not older than what the channel runs."""

    reason = "not-a-rollback"


@dataclass(frozen=True, slots=True)
class Published:
    statement: ChannelStatement
    sha256: str
    previous: ChannelStatement | None
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        prev = self.previous
        before = None if prev is None else {"sequence": prev.sequence, "version": prev.version}
        return {
            "channel": self.statement.channel,
            "files": list(self.files),
            "previous": before,
            "sha256": f"sha256:{self.sha256}",
            "statement": self.statement.to_dict(),
        }


def _read_current(store: Path, name: str) -> ChannelStatement | None:
    path = store / channel_path(name)
    if not path.exists():
        return None
    raw = read_bounded(path, MAX_CHANNEL_BYTES, f"channel statement {path}")
    return ChannelStatement.from_json(raw, str(path))


def history(store: Path, name: str) -> list[ChannelStatement]:
    """Every statement published for *name*, by sequence (the publisher's own copies)."""
    hdir = store / history_dir(name)
    if not hdir.is_dir():
        return []
    out = []
    for entry in sorted(hdir.iterdir()):
        if entry.suffix == ".json" and entry.stem.isdigit():
            raw = read_bounded(entry, MAX_CHANNEL_BYTES, "channel history")
            out.append(ChannelStatement.from_json(raw, str(entry)))
    return sorted(out, key=lambda s: s.sequence)


def publish_statement(
    store: Path, statement: ChannelStatement, keys: Sequence[PrivateKey], evidence: dict[str, bytes]
) -> tuple[str, tuple[str, ...]]:
    """Write evidence, signatures, history, then the statement; return its sha256 and files."""
    from nebsign.signing import sign_digest

    if not keys or len(keys) > MAX_SIGNERS:
        raise InputError(f"give 1 to {MAX_SIGNERS} signing keys")
    raw = statement.to_json()
    sha = sha256_bytes(raw)
    written: list[str] = []
    for digest, data in sorted(evidence.items()):
        rel = evidence_path(digest)
        if not (store / rel).exists():
            _write(store, rel, data)
        written.append(rel)
    for rel, key in zip(signature_paths(sha, len(keys)), keys, strict=True):
        _write(store, rel, sign_digest(sha, key).to_json())
        written.append(rel)
    hist = f"{history_dir(statement.channel)}/{statement.sequence:012d}.json"
    _write(store, hist, raw)
    written.append(hist)
    rel = channel_path(statement.channel)
    _write(store, rel, raw)
    written.append(rel)
    return sha, tuple(written)


def _write(store: Path, rel: str, data: bytes) -> None:
    target = store / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, data, 0o644)


def _release(store: Path, release_dir: Path) -> tuple[Manifest, str, str]:
    try:
        rel = os.path.relpath(release_dir.resolve(), store.resolve())
    except ValueError as exc:
        raise InputError(f"release {release_dir} is not inside the store {store}") from exc
    if rel.startswith("..") or os.path.isabs(rel) or rel == ".":
        raise InputError(
            f"release {release_dir} is not inside the store {store}",
            hint="publish the release into the store first (nebsign release -o STORE/releases/...)",
        )
    raw = read_bounded(release_dir / "release.json", MAX_MANIFEST_BYTES, "release manifest")
    manifest = Manifest.from_json(raw, f"{release_dir}/release.json")
    if manifest.version is None or manifest.name is None:
        raise InputError(f"{release_dir}/release.json names no release name or version")
    return manifest, sha256_bytes(raw), rel.replace(os.sep, "/")


def _gate_evidence(
    paths: Sequence[Path], trust: TrustPolicy, *, now: datetime, strict: bool
) -> tuple[list[GateEvidence], dict[str, bytes]]:
    from nebsign.verify import verify_attestation

    out: list[GateEvidence] = []
    raws: dict[str, bytes] = {}
    for path in paths:
        raw = read_bounded(path, MAX_BUNDLE_BYTES, "gate attestation")
        try:
            statement = verify_attestation(Bundle.from_json(raw, str(path)), trust, now=now)
        except NebsignError:
            if strict:
                raise
            continue
        digest = sha256_bytes(raw)
        out.append(GateEvidence(digest, statement))
        raws[digest] = raw
    return out, raws


def promote(
    store: Path,
    release_dir: Path,
    channel: str,
    keys: Sequence[PrivateKey],
    *,
    gate_trust: TrustPolicy,
    now: datetime,
    expires_in: timedelta,
    evidence: Sequence[Path] = (),
    phase: Phase | None = None,
    rules: PromotionRules = _RULES,
) -> Published:
    """Put the release at *release_dir* into *channel*, if the promotion rules hold."""
    check_channel_name(channel)
    phase = phase or phase_of(channel)
    manifest, sha, rel = _release(store, release_dir)
    paths = list(evidence)
    if not paths:
        att = release_dir / "attestations"
        paths = sorted(att.glob("*.sigstore.json")) if att.is_dir() else []
    gates, raws = _gate_evidence(paths, gate_trust, now=now, strict=bool(evidence))
    used = check_promotion(phase, gates, sha, at=now, rules=rules)
    current = _read_current(store, channel)
    assert manifest.version is not None and manifest.name is not None
    if current is not None and (
        ReleaseVersion.parse(manifest.version) < ReleaseVersion.parse(current.version)
    ):
        raise VerdictError(
            f"channel {channel} runs {current.version}; {manifest.version} is older",
            hint=f"to go back: nebsign rollback --channel {channel} --to {manifest.version}",
        )
    statement = ChannelStatement(
        channel=channel,
        phase=phase,
        release=manifest.name,
        version=manifest.version,
        manifest_sha256=sha,
        path=rel,
        sequence=(current.sequence + 1) if current is not None else 1,
        issued_at=now,
        expires=now + expires_in,
        rollback=False,
        evidence=used,
    )
    digest, files = publish_statement(
        store, statement, keys, {e.sha256: raws[e.sha256] for e in used}
    )
    return Published(statement, digest, current, files)


def rollback(
    store: Path,
    channel: str,
    to: str,
    keys: Sequence[PrivateKey],
    *,
    now: datetime,
    expires_in: timedelta,
) -> Published:
    """Publish a higher-sequence statement naming the older release *to*, marked rollback."""
    current = _read_current(store, channel)
    if current is None:
        raise InputError(f"channel {channel} has no statement in {store}; nothing to roll back")
    want = ReleaseVersion.parse(to)
    if not want < ReleaseVersion.parse(current.version):
        raise NotARollback(
            f"channel {channel} runs {current.version}; {to} is not older",
            hint="to go forward use `nebsign promote`",
        )
    earlier = [s for s in history(store, channel) if ReleaseVersion.parse(s.version) == want]
    if not earlier:
        raise InputError(
            f"channel {channel} never ran {to}: no statement in {store / history_dir(channel)}",
            hint="a fleet rollback goes back to a release this channel ran before",
        )
    source = earlier[-1]
    statement = ChannelStatement(
        channel=channel,
        phase=current.phase,
        release=source.release,
        version=source.version,
        manifest_sha256=source.manifest_sha256,
        path=source.path,
        sequence=current.sequence + 1,
        issued_at=now,
        expires=now + expires_in,
        rollback=True,
        evidence=source.evidence,
    )
    digest, files = publish_statement(store, statement, keys, {})
    return Published(statement, digest, current, files)


def previous_version(store: Path, channel: str) -> str | None:
    """The release *channel* ran before its current one (the rollback target), if any."""
    current = _read_current(store, channel)
    if current is None:
        return None
    now = ReleaseVersion.parse(current.version)
    older = [
        s
        for s in history(store, channel)
        if not s.rollback and ReleaseVersion.parse(s.version) < now
    ]
    return older[-1].version if older else None


def rollback_command(channel: str, version: str, store: Path | str, key: str = "KEY") -> str:
    """The exact command a release manager runs to roll *channel* back to *version*."""
    import shlex

    parts = ["nebsign", "rollback", "--channel", channel, "--to", version, "--store", str(store)]
    return shlex.join([*parts, "--key", key])
