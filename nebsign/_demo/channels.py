"""Demo step: channels. A global promotion refused without a passing canary gate, then
allowed with signed canary and regional gates; three global hosts follow the channel; one
fleet rollback brings them all back."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nebsign._internal.resources import data_path
from nebsign.agent.channel import ChannelFollower
from nebsign.attest import Subject
from nebsign.channels.publish import promote, rollback
from nebsign.channels.rules import PromotionRefused
from nebsign.digest import sha256_bytes
from nebsign.gate.model import GateKind, Verdict
from nebsign.gate.policy import parse_gates_policy
from nebsign.gate.report import predicate, statement
from nebsign.gate.run import run_canary, tool_versions
from nebsign.keys import PrivateKey, generate_key, key_id, public_key_pem
from nebsign.policy.host import load_host_policy
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import build_manifest

from . import DemoContext

TITLE = "Channels: gated promotion, hosts that check the evidence, one-command fleet rollback"
HOSTS = 3


def _trust(path: Path, keys: list[PrivateKey]) -> Path:
    parts = ["version = 1\nthreshold = 1\n"]
    for k in keys:
        pub = k.public_key()
        parts.append(
            f"[[keys]]\nid = \"{key_id(pub)}\"\npem = '''{public_key_pem(pub).decode()}'''\n"
        )
    path.write_text("\n".join(parts))
    os.chmod(path, 0o644)
    return path


def _release(store: Path, version: str, key: PrivateKey) -> Path:
    rel = store / "releases" / "exchange-api" / version
    (rel / "payload" / "bin").mkdir(parents=True)
    (rel / "payload" / "bin" / "exchange-api").write_text(f"exchange-api {version}\n")
    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = build_manifest(
        rel / "payload", name="exchange-api", version=version, expires=expires
    )
    (rel / "release.json").write_bytes(manifest.to_json())
    (rel / "release.json.sigstore.json").write_bytes(sign_digest(manifest.digest(), key).to_json())
    (rel / "index.json").write_text('{"signatures": ["release.json.sigstore.json"]}')
    return rel


def _gates(ctx: DemoContext, rel: Path, key: PrivateKey, out: Path) -> list[Path]:
    """Canary (4 h) and regional (12 h) gates on generated sample metrics, signed."""
    spec = importlib.util.spec_from_file_location("gen", ctx.examples / "metrics" / "generate.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    policy = parse_gates_policy((data_path("policies") / "default.toml").read_bytes())
    sha = sha256_bytes((rel / "release.json").read_bytes())
    paths = []
    for kind, minutes in ((GateKind.CANARY, 250), (GateKind.REGIONAL, 12 * 60 + 10)):
        raw = gen.canary(minutes=minutes).encode()
        result = run_canary([(f"{kind.value}.om", raw)], policy, kind)
        assert result.verdict is Verdict.PASS, result.reason
        pred = predicate(
            result,
            policy_digest=policy.digest,
            inputs=[("metrics", raw)],
            tools=tool_versions(),
            decided_at=datetime.now(UTC).replace(microsecond=0),
        )
        path = out / f"{rel.name}-{kind.value}.sigstore.json"
        bundle = sign_statement(statement(pred, [Subject("release.json", sha)]), key)
        path.write_bytes(bundle.to_json())
        paths.append(path)
    return paths


def _hosts(ctx: DemoContext, keys: dict[str, PrivateKey]) -> list[ChannelFollower]:
    out = []
    for i in range(HOSTS):
        etc = ctx.workdir / "hosts" / f"host-{i}" / "etc"
        etc.mkdir(parents=True, mode=0o755)
        _trust(etc / "trust.toml", [keys["release"], keys["gate"]])
        _trust(etc / "channel-trust.toml", [keys["promote"]])
        _trust(etc / "rollback-trust.toml", [keys["rollback"]])
        policy = etc / "agent.toml"
        policy.write_text(
            f'root = {json.dumps(str(etc.parent / "agent"))}\ntrust_policy = "trust.toml"\n'
            'name = "exchange-api"\n[channel]\nname = "global"\n'
            'trust_policy = "channel-trust.toml"\nrollback_trust_policy = "rollback-trust.toml"\n'
        )
        os.chmod(policy, 0o644)
        out.append(ChannelFollower(load_host_policy(policy), str(ctx.workdir / "store")))
    return out


def _poll(hosts: list[ChannelFollower]) -> str:
    outcomes = [h.poll() for h in hosts]
    shown = sorted({f"{o.action.value} {o.version} (#{o.sequence})" for o in outcomes})
    return f"{len(hosts)} global hosts polled: " + "; ".join(shown)


def run(ctx: DemoContext) -> Iterator[str]:
    keys = {name: generate_key() for name in ("release", "gate", "promote", "rollback")}
    store = ctx.workdir / "store"
    gate_dir = ctx.workdir / "gates"
    gate_dir.mkdir(parents=True)
    gate_trust = TrustPolicy.from_keys([keys["gate"].public_key()])
    week = timedelta(days=7)

    def go(rel: Path, channel: str, evidence: list[Path]) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        out = promote(
            store, rel, channel, [keys["promote"]], gate_trust=gate_trust, now=now,
            expires_in=week, evidence=evidence,
        )  # fmt: skip
        st = out.statement
        gates = ", ".join(e.gate for e in st.evidence) or "none needed"
        return f"promoted {st.version} to {channel} (#{st.sequence}; gates: {gates})"

    old, new = _release(store, "1.4.2", keys["release"]), _release(store, "1.4.3", keys["release"])
    yield go(old, "canary", [])
    yield go(old, "global", _gates(ctx, old, keys["gate"], gate_dir))
    hosts = _hosts(ctx, keys)
    yield _poll(hosts)
    try:
        go(new, "global", [])
        raise AssertionError("an ungated global promotion was allowed")
    except PromotionRefused as exc:
        yield f"promote 1.4.3 to global without gates: refused (exit 1): {exc.message}"
    yield go(new, "global", _gates(ctx, new, keys["gate"], gate_dir))
    yield _poll(hosts)
    now = datetime.now(UTC).replace(microsecond=0)
    back = rollback(store, "global", "1.4.2", [keys["rollback"]], now=now, expires_in=week)
    yield (
        f"nebsign rollback --channel global --to 1.4.2: statement #{back.statement.sequence} "
        "signed by the rollback key"
    )
    yield _poll(hosts)
    ctx.values["channel_store"] = store
