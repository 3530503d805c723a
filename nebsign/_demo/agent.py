"""Demo step: the on-host agent installs a verified release, refuses a tampered one,
upgrades, rolls back in one call, and its audit log catches an edit."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nebsign.agent.auditlog import verify_log
from nebsign.agent.install import install_release
from nebsign.agent.rollback import agent_status, rollback
from nebsign.agent.state import load_state
from nebsign.attest import SAST_V1, Statement, Subject
from nebsign.errors import VerdictError
from nebsign.keys import PrivateKey, generate_key, key_id, public_key_pem
from nebsign.policy.host import load_host_policy
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import build_manifest

from . import DemoContext

TITLE = "On-host agent: verify before install, atomic switch, rollback, audit log"


def _publish(src: Path, dest: Path, version: str, key: PrivateKey, expires: str) -> Path:
    """The published layout: payload/, release.json, its signature, a SAST attestation."""
    shutil.copytree(src, dest / "payload", symlinks=True)
    manifest = build_manifest(
        dest / "payload", name="exchange-api", version=version, expires=expires
    )
    (dest / "release.json").write_bytes(manifest.to_json())
    (dest / "release.json.sigstore.json").write_bytes(sign_digest(manifest.digest(), key).to_json())
    (dest / "attestations").mkdir()
    statement = Statement(
        (Subject("release.json", manifest.digest()),),
        SAST_V1,
        _sast_predicate(dest / "payload"),
    )
    (dest / "attestations" / "sast.sigstore.json").write_bytes(
        sign_statement(statement, key).to_json()
    )
    return dest


def _sast_predicate(payload: Path) -> dict[str, object]:
    """The real SAST result of the payload: it lists the files it covers (the agent checks)."""
    from nebsign.sast.gate import ScanRequest, scan_sast
    from nebsign.sast.report import predicate

    verdict, _ = scan_sast(ScanRequest(root=payload, cache_dir=payload.parent.parent / "cache"))
    return predicate(verdict)


def _write_policies(etc: Path, root: Path, key: PrivateKey) -> Path:
    etc.mkdir(mode=0o755)
    pub = key.public_key()
    trust = etc / "trust.toml"
    trust.write_text(
        f'version = 1\nthreshold = 1\n[[keys]]\nid = "{key_id(pub)}"\n'
        f"pem = '''{public_key_pem(pub).decode()}'''\n"
    )
    host = etc / "agent.toml"
    host.write_text(
        f'root = {json.dumps(str(root))}\ntrust_policy = "trust.toml"\nname = "exchange-api"\n'
        "keep = 3\n"
        '[[require]]\npredicate_type = "sast"\nverdict = "pass"\n'
    )
    for path in (trust, host):
        os.chmod(path, 0o644)
    return host


def run(ctx: DemoContext) -> Iterator[str]:
    base = ctx.workdir / "agent"
    base.mkdir()
    key = generate_key()
    root = base / "host"
    policy = load_host_policy(_write_policies(base / "etc", root, key))
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    src = Path(ctx.values["release_dir"])
    pub = base / "published"

    out = install_release(policy, str(_publish(src, pub / "1.4.2", "1.4.2", key, expires)))
    yield f"install 1.4.2: {out.status.value}; signed by {out.record.signers[0][:16]}..."
    yield f"  current -> {os.readlink(root / 'current')}"

    tampered = _publish(src, pub / "1.4.3-evil", "1.4.3", key, expires)
    orders = tampered / "payload" / "app" / "exchange_api" / "orders.py"
    data = orders.read_bytes()
    orders.write_bytes(data[:-2] + b"#\n")  # same size, different bytes
    try:
        install_release(policy, str(tampered))
        raise AssertionError("a tampered release was installed")
    except VerdictError as exc:
        yield "install of a tampered 1.4.3 (one file edited after signing): refused"
        yield f"  {exc.message.split(': ', 1)[1]}"

    newer = src.parent / "release-1.4.3"
    shutil.copytree(src, newer, symlinks=True)
    (newer / "config" / "production.toml").write_text('log_level = "info"\n')
    out = install_release(policy, str(_publish(newer, pub / "1.4.3", "1.4.3", key, expires)))
    yield f"install 1.4.3: {out.status.value} (previous {out.previous})"

    back = rollback(root)
    yield f"rollback: {back.previous} -> {back.current.version}, files re-checked first"

    status = agent_status(root)
    for rec in reversed(status.releases):
        mark = "*" if rec.version == status.current else " "
        yield f"  {mark} {rec.version}  sha256:{rec.manifest_sha256[:16]}...  {rec.installed_at}"

    state = load_state(root / "state.json")
    result = verify_log(root / "audit.log", state.log)
    yield f"audit log: {result.entries} hash-chained entries verify"
    copy = base / "audit-edited.log"
    lines = (root / "audit.log").read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"refused", b"install")
    copy.write_bytes(b"".join(lines))
    try:
        verify_log(copy, state.log)
        raise AssertionError("an edited audit log verified")
    except VerdictError as exc:
        yield "edited copy of the log: refused"
        yield f"  {exc.message.split(': ', 1)[1]}"
