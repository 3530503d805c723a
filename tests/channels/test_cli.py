"""`promote`, `rollback --channel` and `agent run --url STORE`, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from channelkit import PASS, Store, host, keyfile, serve, trust_toml
from helpers import assert_one_line_error, run_cli


def _setup(store: Store, tmp_path: Path) -> tuple[str, str, str, str]:
    store.release("1.0.0")
    store.release("1.1.0")
    trust = tmp_path / "gate-trust.toml"
    trust.write_text(trust_toml([store.gate_key]))
    promote_key = keyfile(tmp_path / "promote.key", store.channel_key)
    rollback_key = keyfile(tmp_path / "rollback.key", store.rollback_key)
    return str(trust), promote_key, rollback_key, str(store.root)


def test_promote_refused_without_canary_gate_then_allowed(store: Store, tmp_path: Path) -> None:
    trust, pkey, _, root = _setup(store, tmp_path)
    base = [
        "promote",
        "releases/app/1.0.0",
        "--store",
        root,
        "--key",
        pkey,
        "--trust-policy",
        trust,
    ]
    refused = run_cli(*base, "--channel", "regional-eu", env=PASS)
    assert_one_line_error(refused, 1)
    assert "no passing canary gate" in refused.stderr
    assert not (store.root / "channels").exists()

    canary, regional = store.gates("1.0.0")
    ok = run_cli(*base, "--channel", "regional-eu", "--evidence", str(canary), env=PASS)
    assert ok.exit_code == 0, ok.stderr
    assert "promoted channel regional-eu -> app 1.0.0" in ok.stdout
    glob = run_cli(
        *base,
        "--channel",
        "global",
        "--evidence",
        str(canary),
        "--evidence",
        str(regional),
        "--format",
        "json",
        env=PASS,
    )
    assert glob.exit_code == 0, glob.stderr
    out = json.loads(glob.stdout)
    assert out["statement"]["sequence"] == 1
    assert sorted(e["gate"] for e in out["statement"]["evidence"]) == ["canary", "regional"]
    for ev in out["statement"]["evidence"]:
        assert (store.root / "evidence" / f"{ev['sha256']}.sigstore.json").is_file()

    too_short = store.gates("1.1.0", canary_hours="3.983")
    short = run_cli(
        "promote",
        "releases/app/1.1.0",
        "--store",
        root,
        "--key",
        pkey,
        "--trust-policy",
        trust,
        "--channel",
        "global",
        *[a for p in too_short for a in ("--evidence", str(p))],
        env=PASS,
    )
    assert_one_line_error(short, 1)
    assert "3.983 h" in short.stderr


def test_rollback_publishes_a_higher_sequence_and_hosts_follow(
    store: Store, tmp_path: Path
) -> None:
    trust, pkey, rkey, root = _setup(store, tmp_path)
    for v, seq in (("1.0.0", 1), ("1.1.0", 2)):
        ev = [a for p in store.gates(v) for a in ("--evidence", str(p))]
        r = run_cli(
            "promote", f"releases/app/{v}", "--store", root, "--key", pkey,
            "--trust-policy", trust, "--channel", "global", *ev, env=PASS,
        )  # fmt: skip
        assert r.exit_code == 0, r.stderr
        assert f"statement #{seq}" in r.stdout
    kit = host(store, tmp_path / "host")
    with serve(store.root) as (url, _):
        run = run_cli("agent", "run", "--url", url, "--once", "--policy", str(kit.policy_path))
        assert run.exit_code == 0, run.stderr
        assert "installed: channel global #2: installed 1.1.0" in run.stdout
        back = run_cli(
            "rollback", "--channel", "global", "--to", "1.0.0", "--store", root, "--key", rkey,
            env=PASS,
        )  # fmt: skip
        assert back.exit_code == 0, back.stderr
        assert "rolled back channel global -> app 1.0.0 (was 1.1.0 #2): statement #3" in back.stdout
        run = run_cli("agent", "run", "--url", url, "--once", "--policy", str(kit.policy_path))
        assert run.exit_code == 0, run.stderr
        assert "installed: channel global #3: installed 1.0.0" in run.stdout
        assert kit.current_payload() == b"app 1.0.0\n"
        # rolling back to what the channel already runs is not a rollback
        again = run_cli(
            "rollback", "--channel", "global", "--to", "1.0.0", "--store", root, "--key", pkey,
            env=PASS,
        )  # fmt: skip
        assert_one_line_error(again, 2)  # 1.0.0 is what the channel runs: not a rollback


def test_rollback_cli_bad_input(store: Store, tmp_path: Path) -> None:
    _, _, rkey, root = _setup(store, tmp_path)
    none = run_cli(
        "rollback", "--channel", "global", "--to", "1.0.0", "--store", root, "--key", rkey, env=PASS
    )
    assert_one_line_error(none, 2)
    bad = run_cli(
        "rollback", "--channel", "Global!", "--to", "1.0.0", "--store", root, "--key", rkey,
        env=PASS,
    )  # fmt: skip
    assert_one_line_error(bad, 2)
    dur = run_cli(
        "rollback", "--channel", "global", "--to", "1.0.0", "--store", root, "--key", rkey,
        "--expires-in", "forever", env=PASS,
    )  # fmt: skip
    assert_one_line_error(dur, 2)


def test_agent_run_once_exits_1_on_a_refused_statement(store: Store, tmp_path: Path) -> None:
    store.release("1.0.0")
    store.publish("1.0.0", 1)  # global, no evidence: a stolen promotion key
    kit = host(store, tmp_path / "host")
    with serve(store.root) as (url, _):
        run = run_cli("agent", "run", "--url", url, "--once", "--policy", str(kit.policy_path))
    assert run.exit_code == 1, (run.stdout, run.stderr)
    assert "no passing canary gate" in run.stderr
    assert "Traceback" not in run.stderr


def test_help_has_examples() -> None:
    for cmd in (["promote"], ["rollback"]):
        out = run_cli(*cmd, "--help")
        assert out.exit_code == 0
        assert "Example" in out.stdout


def test_json_on_refusal(store: Store, tmp_path: Path) -> None:
    trust, pkey, _, root = _setup(store, tmp_path)
    r = run_cli(
        "promote", "releases/app/1.0.0", "--store", root, "--key", pkey, "--trust-policy", trust,
        "--channel", "global", "--format", "json", env=PASS,
    )  # fmt: skip
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["exit_code"] == 1
    assert "canary" in out["message"]


def test_agent_run_bad_store_url_is_bad_input(store: Store, tmp_path: Path) -> None:
    kit = host(store, tmp_path / "host")
    for url in ("http://127.0.0.1:abc", "http://:8080"):
        r = run_cli("agent", "run", "--url", url, "--once", "--policy", str(kit.policy_path))
        assert_one_line_error(r, 2)
