"""The rollout status page: which version every channel runs, from verified statements only.

:func:`rollout_doc` reads a store directory, verifies every channel statement
it renders (signatures by the channel trust policy, or by the rollback trust
policy for a statement marked rollback) and every gate attestation it shows
(the gate trust policy; the bundle's SHA-256 must be the one the signed
statement names). Statements that do not verify are never rendered: they are
counted. :func:`render_rollout` writes ``index.html`` (the public report's
renderer: jinja2 with autoescape, strict CSP, no script), ``rollout.md``
(every value escaped) and ``rollout.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebsign._internal.readlimit import read_bounded
from nebsign.bundle import MAX_BUNDLE_BYTES, Bundle
from nebsign.channels.model import (
    MAX_CHANNEL_BYTES,
    ChannelStatement,
    evidence_path,
    history_dir,
    rfc3339,
    signature_paths,
)
from nebsign.digest import sha256_bytes
from nebsign.errors import InputError, NebsignError, VerdictError

if TYPE_CHECKING:
    from nebsign.policy.trust import TrustPolicy

__all__ = ["RolloutTrust", "render_rollout", "rollout_doc"]

MAX_CHANNELS = 256
MAX_HISTORY = 10_000


@dataclass(frozen=True, slots=True)
class RolloutTrust:
    channel: TrustPolicy
    rollback: TrustPolicy | None = None
    gates: TrustPolicy | None = None


def _verified(store: Path, raw: bytes, trust: RolloutTrust, now: datetime) -> ChannelStatement:
    from nebsign.verify import verify_artifact

    sha = sha256_bytes(raw)
    bundles = []
    for rel in signature_paths(sha):
        path = store / rel
        if not path.is_file():
            break
        bundles.append(Bundle.from_json(read_bounded(path, MAX_BUNDLE_BYTES, "signature"), rel))
    if not bundles:
        raise VerdictError(f"channel statement sha256:{sha[:16]}... is not signed")
    st = ChannelStatement.from_json(raw)
    policy = trust.rollback if st.rollback else trust.channel
    if policy is None:
        raise VerdictError(f"channel {st.channel} #{st.sequence}: no rollback trust policy given")
    verify_artifact(sha, bundles, policy, now=now)
    return st


def _evidence(store: Path, st: ChannelStatement, trust: RolloutTrust, now: datetime) -> list[Any]:
    from nebsign.verify import verify_attestation

    out = []
    for ev in st.evidence:
        row: dict[str, Any] = {"gate": ev.gate, "sha256": ev.sha256, "verified": False}
        path = store / evidence_path(ev.sha256)
        if trust.gates is not None and path.is_file():
            raw = read_bounded(path, MAX_BUNDLE_BYTES, "evidence")
            try:
                if sha256_bytes(raw) != ev.sha256:
                    raise VerdictError("evidence bytes do not match the signed digest")
                gate = verify_attestation(Bundle.from_json(raw), trust.gates, now=now)
            except NebsignError:
                gate = None
            if gate is not None and gate.covers(st.manifest_sha256):
                pred = gate.predicate
                window = pred.get("window")
                row.update(
                    verified=True,
                    verdict=str(pred.get("verdict", ""))[:20],
                    decided_at=str(pred.get("decided_at", ""))[:40],
                    window_hours=str(window.get("hours", ""))[:20]
                    if isinstance(window, dict)
                    else None,
                )
        out.append(row)
    return out


def _history(store: Path, name: str, trust: RolloutTrust, now: datetime) -> tuple[list[Any], int]:
    hdir = store / history_dir(name)
    entries = sorted(hdir.glob("*.json"))[-MAX_HISTORY:] if hdir.is_dir() else []
    out, skipped = [], 0
    for path in entries:
        try:
            out.append(
                _verified(store, read_bounded(path, MAX_CHANNEL_BYTES, "history"), trust, now)
            )
        except NebsignError:
            skipped += 1
    return sorted(out, key=lambda s: s.sequence), skipped


def rollout_doc(store: Path, trust: RolloutTrust, *, now: datetime) -> dict[str, Any]:
    """The status document: verified channel statements only (raises if none verify)."""
    cdir = store / "channels"
    if not cdir.is_dir():
        raise InputError(f"{store}: no channels/ directory (not a nebsign store?)")
    names = sorted(p.stem for p in cdir.glob("*.json"))[:MAX_CHANNELS]
    channels, rollbacks, skipped = [], [], 0
    for name in names:
        raw = read_bounded(cdir / f"{name}.json", MAX_CHANNEL_BYTES, "channel statement")
        try:
            st = _verified(store, raw, trust, now)
        except NebsignError:
            skipped += 1
            continue
        hist, bad = _history(store, name, trust, now)
        skipped += bad
        since = st.issued_at
        for old in reversed(hist):
            if old.sequence > st.sequence:
                continue
            if old.manifest_sha256 != st.manifest_sha256:
                break
            since = old.issued_at
        prev = None
        for old in hist:
            if old.rollback and old.sequence > 1:
                before = [h for h in hist if h.sequence < old.sequence]
                prev = before[-1].version if before else None
                rollbacks.append(
                    {
                        "channel": old.channel,
                        "sequence": old.sequence,
                        "from": prev,
                        "to": old.version,
                        "at": rfc3339(old.issued_at),
                    }
                )
        channels.append(
            {
                "channel": st.channel,
                "phase": st.phase.value,
                "release": st.release,
                "version": st.version,
                "manifest": st.manifest,
                "sequence": st.sequence,
                "since": rfc3339(since),
                "issued_at": rfc3339(st.issued_at),
                "expires": rfc3339(st.expires),
                "expired": st.is_expired(now),
                "rollback": st.rollback,
                "evidence": _evidence(store, st, trust, now),
            }
        )
    if not channels:
        raise VerdictError(
            f"{store}: no channel statement verified ({skipped} refused); nothing to render"
        )
    return {
        "_type": "https://nebsign.dev/rollout-status/v1",
        "channels": channels,
        "rollbacks": sorted(rollbacks, key=lambda r: (r["at"], r["channel"], r["sequence"])),
        "not_verified": skipped,
        "as_of": rfc3339(now),
    }


def render_rollout(doc: dict[str, Any]) -> dict[str, bytes]:
    """``index.html``, ``rollout.md`` and ``rollout.json`` from the document."""
    from markupsafe import Markup

    from nebsign.report.render import _html_env, _md_env

    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    parsed = json.loads(raw)
    env = _html_env()
    css = env.get_template("report.css").render().strip()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    html = env.get_template("rollout.html.j2").render(
        css=Markup(css),  # noqa: S704  # nosec B704 -- the package's own stylesheet, no data
        csp_hash=f"sha256-{digest}",
        doc=parsed,
    )
    md = _md_env().get_template("rollout.md.j2").render(doc=parsed)
    return {
        "index.html": html.encode("utf-8"),
        "rollout.md": md.encode("utf-8"),
        "rollout.json": raw + b"\n",
    }
