"""Issue 9 item 5: the downgrade floor survives a deleted or replaced state.json."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from agentkit import ReleaseKit
from helpers import assert_one_line_error, run_cli


def _p(kit: ReleaseKit) -> list[str]:
    return ["--policy", str(kit.policy_path)]


def _install(kit: ReleaseKit, version: str) -> None:
    r = run_cli("agent", "install", str(kit.build(version)), *_p(kit))
    assert r.exit_code == 0, r.stderr


def test_deleted_state_is_refused_then_repaired_without_lowering_the_floor(kit: ReleaseKit) -> None:
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        _install(kit, v)
    os.unlink(kit.root / "state.json")
    older = kit.build("1.0.5")
    for argv in (
        ("agent", "install", str(older), *_p(kit)),
        ("agent", "log", "verify", *_p(kit)),
        ("agent", "rollback", *_p(kit)),
    ):
        r = run_cli(*argv)
        assert_one_line_error(r, 2)
        assert "state.json is missing" in r.stderr or "state.json says" in r.stderr
        assert "nebsign agent repair --root" in r.stderr
    assert (kit.root / "releases" / "1.2.0").is_dir()  # nothing was deleted or reset
    r = run_cli("agent", "repair", "--root", str(kit.root), "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["highest"] == "1.2.0" and out["current"] == "1.2.0" and not out["had_state"]
    r = run_cli("agent", "install", str(older), *_p(kit))
    assert_one_line_error(r, 1)
    assert "downgrade refused" in r.stderr
    assert kit.current_payload() == b"app 1.2.0\n"
    assert run_cli("agent", "log", "verify", *_p(kit)).exit_code == 0
    events = [e["event"] for e in kit.log_events()]
    assert events[-2:] == ["repaired", "refused"]


def test_older_copy_of_state_is_refused(kit: ReleaseKit, tmp_path: Path) -> None:
    _install(kit, "1.0.0")
    shutil.copy(kit.root / "state.json", tmp_path / "old-state.json")
    _install(kit, "1.1.0")
    _install(kit, "1.2.0")
    shutil.copy(tmp_path / "old-state.json", kit.root / "state.json")
    r = run_cli("agent", "install", str(kit.build("1.0.5")), *_p(kit))
    assert_one_line_error(r, 2)
    assert "behind the audit log" in r.stderr and "agent repair" in r.stderr
    assert (kit.root / "releases" / "1.2.0").is_dir()
    assert kit.current_payload() == b"app 1.2.0\n"
    r = run_cli("agent", "status", *_p(kit), "--format", "json")
    st = json.loads(r.stdout)
    assert not st["log"]["ok"] and "behind" in st["log"]["problem"]
    assert run_cli("agent", "repair", *_p(kit)).exit_code == 0
    r = run_cli("agent", "install", str(kit.build("1.0.5")), *_p(kit))
    assert r.exit_code == 1 and "downgrade" in r.stderr


def test_edited_highest_disagrees_with_the_log(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    _install(kit, "1.1.0")
    state = json.loads((kit.root / "state.json").read_text())
    state["highest"] = "1.0.0"
    (kit.root / "state.json").write_text(json.dumps(state, sort_keys=True, separators=(",", ":")))
    r = run_cli("agent", "install", str(kit.build("1.0.5")), *_p(kit))
    assert_one_line_error(r, 2)
    assert "the audit log says 1.1.0" in r.stderr


def test_incomplete_current_hint_names_the_working_command(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    _install(kit, "1.1.0")
    os.unlink(kit.root / "releases" / "1.0.0" / "meta" / "COMPLETE")
    os.unlink(kit.root / "current")
    os.symlink("releases/1.0.0", kit.root / "current")
    r = run_cli("agent", "rollback", "--to", "1.1.0", *_p(kit))
    assert_one_line_error(r, 2)
    assert "not a complete release" in r.stderr and "agent repair" in r.stderr
    assert "roll back with --to" not in r.stderr
    r = run_cli("agent", "repair", *_p(kit), "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["current"] == "1.1.0" and out["highest"] == "1.1.0"
    assert any("1.0.0" in s for s in out["skipped"])
    assert run_cli("agent", "status", *_p(kit)).exit_code == 0
    assert kit.current_payload() == b"app 1.1.0\n"


def test_repair_refuses_a_tampered_log(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    _install(kit, "1.1.0")
    log = kit.root / "audit.log"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0].replace(b"1.0.0", b"0.0.1") + lines[1])
    os.unlink(kit.root / "state.json")
    r = run_cli("agent", "repair", *_p(kit))
    assert_one_line_error(r, 1)
    assert not (kit.root / "state.json").exists()


def test_repair_ignores_a_release_the_log_never_installed(kit: ReleaseKit) -> None:
    _install(kit, "1.0.0")
    _install(kit, "1.1.0")
    planted = kit.root / "releases" / "9.9.9"
    shutil.copytree(kit.root / "releases" / "1.1.0", planted, symlinks=True)
    record = json.loads((planted / "meta" / "record.json").read_text())
    record["version"] = "9.9.9"
    (planted / "meta" / "record.json").write_text(json.dumps(record))
    os.unlink(kit.root / "state.json")
    r = run_cli("agent", "repair", *_p(kit), "--format", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["highest"] == "1.1.0" and "9.9.9" not in out["releases"]
    assert any("never recorded installing it" in s for s in out["skipped"])
