"""``nebsign agent``: exit codes 0/1/2/3, one-line errors, --format json, the daemon."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentkit import ReleaseKit
from helpers import REPO, assert_one_line_error, run_cli

_NEBSIGN = [sys.executable, "-m", "nebsign"]


def _p(kit: ReleaseKit) -> list[str]:
    return ["--policy", str(kit.policy_path)]


def test_install_status_rollback_log(kit: ReleaseKit) -> None:
    r = run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit))
    assert r.exit_code == 0, r.stderr
    assert "installed app 1.0.0" in r.stdout
    r = run_cli("agent", "install", str(kit.build("1.1.0")), *_p(kit), "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "installed" and out["previous"] == "1.0.0" and out["signers"]
    r = run_cli("agent", "status", *_p(kit), "--format", "json")
    st = json.loads(r.stdout)
    assert st["current"] == "1.1.0" and st["log"]["ok"] and len(st["releases"]) == 2
    assert run_cli("agent", "status", *_p(kit), "--format", "json").stdout == r.stdout
    r = run_cli("agent", "status", "--root", str(kit.root))
    assert "* 1.1.0" in r.stdout and "audit log: 2 entries, ok" in r.stdout
    r = run_cli("agent", "rollback", *_p(kit))
    assert r.exit_code == 0 and "rolled back from 1.1.0 to 1.0.0" in r.stdout
    r = run_cli("agent", "log", "verify", *_p(kit), "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["entries"] == 3


def test_refusal_is_exit_1_one_line(kit: ReleaseKit) -> None:
    run_cli("agent", "install", str(kit.build("1.1.0")), *_p(kit))
    r = run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit))
    assert_one_line_error(r, 1)
    assert "downgrade refused" in r.stderr


def test_log_verify_detects_tampering_exit_1(kit: ReleaseKit) -> None:
    run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit))
    run_cli("agent", "install", str(kit.build("1.1.0")), *_p(kit))
    log = kit.root / "audit.log"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0].replace(b"1.0.0", b"0.0.1") + lines[1])
    r = run_cli("agent", "log", "verify", "--root", str(kit.root))
    assert_one_line_error(r, 1)
    # the agent also refuses to act on a tampered log
    r = run_cli("agent", "install", str(kit.build("1.2.0")), *_p(kit))
    assert_one_line_error(r, 1)


def test_bad_input_exit_2(kit: ReleaseKit, tmp_path: Path) -> None:
    assert_one_line_error(run_cli("agent", "install", str(tmp_path / "nope"), *_p(kit)), 2)
    bad = tmp_path / "bad.toml"
    bad.write_text("root = 'relative'\ntrust_policy = 'x'\n")
    assert_one_line_error(run_cli("agent", "install", "x", "--policy", str(bad)), 2)
    os.chmod(kit.policy_path, 0o666)
    r = run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit))
    assert_one_line_error(r, 2)
    assert "writable by group or others" in r.stderr
    assert_one_line_error(run_cli("agent", "run", *_p(kit)), 2)
    assert_one_line_error(run_cli("agent", "status", "--root", str(tmp_path / "none")), 2)
    rel = kit.build("1.0.0")
    (rel / "release.json").write_bytes(b"{not json")
    os.chmod(kit.policy_path, 0o644)
    assert_one_line_error(run_cli("agent", "install", str(rel), *_p(kit)), 2)


def test_lock_held_is_exit_3(kit: ReleaseKit) -> None:
    run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit))
    fd = os.open(kit.root / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = run_cli("agent", "install", str(kit.build("1.1.0")), *_p(kit))
        assert_one_line_error(r, 3)
        assert "another nebsign agent" in r.stderr
    finally:
        os.close(fd)


def test_help_teaches() -> None:
    r = run_cli("agent", "--help")
    assert r.exit_code == 0 and "nebsign agent rollback" in r.stdout
    for sub in ("install", "run", "rollback", "status"):
        assert run_cli("agent", sub, "--help").exit_code == 0


def test_daemon_inbox_and_sigterm(kit: ReleaseKit, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    proc = subprocess.Popen(
        [*_NEBSIGN, "agent", "run", "--inbox", str(inbox), *_p(kit), "--interval", "0.1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # a partially written release (no .ready marker) is left alone
        partial = kit.build("1.0.0", dest=inbox / "r1")
        time.sleep(1.0)
        assert not (kit.root / "current").exists()
        (partial / ".ready").write_bytes(b"")
        _wait(lambda: (kit.root / "current").exists())
        # a bad release is refused, logged, moved aside; current keeps serving
        bad = kit.build("1.1.0", dest=inbox / ".tmp-r2")
        (bad / "payload" / "bin" / "app").write_bytes(b"app 6.6.6\n")
        (bad / ".ready").write_bytes(b"")
        bad.rename(inbox / "r2")
        _wait(lambda: (inbox / ".rejected" / "r2").exists())
        good = kit.build("1.2.0", dest=inbox / "r3")
        (good / ".ready").write_bytes(b"")
        _wait(lambda: (inbox / ".done" / "r3").exists())
        assert kit.current_payload() == b"app 1.2.0\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert b"stopped after" in err and b"2 installed, 1 refused" in err
    assert (inbox / ".done" / "r1").exists()
    events = [e["event"] for e in kit.log_events()]
    assert events == ["installed", "refused", "installed"]
    assert run_cli("agent", "log", "verify", *_p(kit)).exit_code == 0


def _wait(cond: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_release_built_with_the_cli_installs(tmp_path: Path) -> None:
    """The documented layout, assembled only with nebsign manifest / sign / attest."""
    from nebsign.keys import load_public_key

    keyprefix = tmp_path / "release"
    assert run_cli("key", "generate", "-o", str(keyprefix), "--no-passphrase").exit_code == 0
    rel = tmp_path / "rel"
    (rel / "payload" / "bin").mkdir(parents=True)
    (rel / "payload" / "bin" / "app").write_bytes(b"built by the CLI\n")
    key = f"{keyprefix}.key"
    manifest = str(rel / "release.json")
    steps = [
        [
            *("manifest", "create", str(rel / "payload"), "--name", "app", "--version", "2.0.0"),
            *("--expires", "2099-01-01T00:00:00Z", "-o", manifest),
        ],
        ["sign", manifest, "--key", key],
    ]
    predicate = tmp_path / "sast.json"
    scan = run_cli("scan", "sast", str(rel / "payload"), "--no-cache", "--format", "json")
    assert scan.exit_code == 0, scan.stderr
    predicate.write_bytes(scan.stdout_bytes)
    (rel / "attestations").mkdir()
    att = str(rel / "attestations" / "sast.sigstore.json")
    steps.append(
        [
            *("attest", "create", "--type", "sast", "--predicate", str(predicate)),
            *("--subject", manifest, "--key", key, "-o", att),
        ]
    )
    for argv in steps:
        r = run_cli(*argv)
        assert r.exit_code == 0, (argv, r.stderr)
    kit = ReleaseKit(tmp_path / "host")
    pub = load_public_key(Path(f"{keyprefix}.pub").read_bytes())
    from nebsign.keys import key_id, public_key_pem

    trust = kit.conf / "trust.toml"
    trust.write_text(
        f'version = 1\nthreshold = 1\n[[keys]]\nid = "{key_id(pub)}"\n'
        f"pem = '''{public_key_pem(pub).decode()}'''\n"
    )
    r = run_cli("agent", "install", str(rel), *_p(kit), "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["version"] == "2.0.0"
    assert kit.current_payload() == b"built by the CLI\n"
