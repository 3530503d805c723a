"""Issue 9 item 10: the audit log at scale: rotate, checkpoint, rate limit, lost newline."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from helpers import assert_one_line_error, run_cli

from nebsign.agent import logchain
from nebsign.agent.auditlog import AuditLog
from nebsign.agent.daemon import Event, run_daemon
from nebsign.agent.state import load_state


def _p(kit: ReleaseKit) -> list[str]:
    return ["--policy", str(kit.policy_path)]


def _install(kit: ReleaseKit, version: str) -> None:
    r = run_cli("agent", "install", str(kit.build(version)), *_p(kit))
    assert r.exit_code == 0, r.stderr


def test_rotate_keeps_one_chain_across_segments(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    r = run_cli("agent", "log", "rotate", *_p(kit))
    assert r.exit_code == 0 and "sealed audit.log.d/" in r.stdout, r.stderr
    _install(kit, "1.1.0")
    assert run_cli("agent", "log", "rotate", *_p(kit)).exit_code == 0
    _install(kit, "1.2.0")
    r = run_cli("agent", "log", "verify", *_p(kit), "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["segments"] == 2 and out["entries"] == 5  # 3 installs + 2 rotated lines
    first = json.loads((kit.root / "audit.log").read_text().splitlines()[0])
    assert first["event"] == "rotated" and first["floor"] == "1.1.0"
    # a sealed segment edited afterwards is caught by verify
    seg = sorted((kit.root / "audit.log.d").iterdir())[0]
    seg.write_bytes(seg.read_bytes().replace(b"1.0.0", b"0.9.0"))
    r = run_cli("agent", "log", "verify", *_p(kit))
    assert_one_line_error(r, 1)
    # the downgrade floor survives rotation
    r = run_cli("agent", "install", str(kit.build("1.1.5")), *_p(kit))
    assert r.exit_code == 1 and "downgrade" in r.stderr


@pytest.mark.parametrize("crash_at", ["log-sealed", "log-rotated"])
def test_crash_during_rotate_recovers(kit: ReleaseKit, crash_at: str) -> None:
    _install(kit, "1.0.0")
    _install(kit, "1.1.0")
    r = run_cli("agent", "log", "rotate", *_p(kit), env={"NEBSIGN_AGENT_CRASH_AT": crash_at})
    assert r.exit_code == -9
    _install(kit, "1.2.0")
    assert run_cli("agent", "log", "verify", *_p(kit)).exit_code == 0
    assert kit.current_payload() == b"app 1.2.0\n"


def test_commands_parse_only_the_tail(kit: ReleaseKit, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(kit, "1.0.0")
    path = kit.root / "audit.log"
    state = load_state(kit.root / "state.json")
    log = AuditLog.open(path, state.log)
    for i in range(500):
        log.append("refused", {"reason": "test", "message": f"filler {i}", "floor": "1.0.0"})
    state_raw = json.loads((kit.root / "state.json").read_text())
    state_raw["log"] = log.head.to_dict() if log.head else None
    (kit.root / "state.json").write_text(json.dumps(state_raw, sort_keys=True))
    parsed: list[int] = []
    real = logchain._parse_line

    def counting(p: Path, number: int, raw: bytes) -> tuple[logchain.LogEntry, str]:
        parsed.append(number)
        return real(p, number, raw)

    monkeypatch.setattr(logchain, "_parse_line", counting)
    state = load_state(kit.root / "state.json")
    opened = AuditLog.open(path, state.log)
    assert opened.head == state.log and len(parsed) <= 2  # the anchor line, no prefix


def test_edit_before_the_checkpoint_still_refused(kit: ReleaseKit) -> None:
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        _install(kit, v)
    log = kit.root / "audit.log"
    log.write_bytes(log.read_bytes().replace(b'"1.0.0"', b'"1.0.1"', 1))
    r = run_cli("agent", "install", str(kit.build("1.3.0")), *_p(kit))
    assert_one_line_error(r, 1)


def test_lost_final_newline_keeps_the_line(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    _install(kit, "1.1.0")
    log = kit.root / "audit.log"
    data = log.read_bytes()
    log.write_bytes(data[:-1])  # only the newline is gone
    _install(kit, "1.2.0")
    assert log.read_bytes().startswith(data)
    assert [e["version"] for e in kit.log_events()] == ["1.0.0", "1.1.0", "1.2.0"]
    assert run_cli("agent", "log", "verify", *_p(kit)).exit_code == 0


@pytest.fixture
def www(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_repeated_identical_refusal_logged_once(kit: ReleaseKit, www: tuple[str, Path]) -> None:
    base, root = www
    rel = kit.build("1.0.0")
    shutil.copytree(rel, root / "app")
    (root / "app" / "index.json").write_text(
        json.dumps({"signatures": ["release.json.sigstore.json", "signatures/gone.sigstore.json"]})
    )
    policy = kit.policy()
    events: list[Event] = []
    url = f"{base}/app"
    for _ in range(4):  # four polls of a URL whose index names a missing bundle
        run_daemon(policy, url=url, stop=threading.Event(), report=events.append, once=True)
    assert [e.kind.value for e in events] == ["error"] * 4  # each attempt is still reported
    logged = kit.log_events()
    assert [e["event"] for e in logged] == ["refused"]
    assert "404" in str(logged[0]["message"])
    os.unlink(root / "app" / "index.json")  # a different refusal is logged again
    run_daemon(policy, url=url, stop=threading.Event(), report=events.append, once=True)
    assert [e["event"] for e in kit.log_events()] == ["refused", "refused"]


def test_deleted_log_is_tampering_not_bad_input(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    os.unlink(kit.root / "audit.log")
    r = run_cli("agent", "install", str(kit.build("1.1.0")), *_p(kit))
    assert_one_line_error(r, 1)
    assert "truncated" in r.stderr
