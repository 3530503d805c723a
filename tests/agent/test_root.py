"""Issue 9 items 7 and 12: agent root parts are never links; commands never create a root."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from helpers import assert_one_line_error, run_cli


def _p(kit: ReleaseKit) -> list[str]:
    return ["--policy", str(kit.policy_path)]


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    (victim / "precious").write_bytes(b"keep me\n")
    return victim


def _intact(victim: Path) -> None:
    assert (victim / "precious").read_bytes() == b"keep me\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o755


@pytest.mark.parametrize("part", ["staging", "releases"])
def test_part_replaced_by_symlink_is_refused(kit: ReleaseKit, tmp_path: Path, part: str) -> None:
    assert run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit)).exit_code == 0
    victim = _victim(tmp_path)
    shutil.rmtree(kit.root / part)
    os.symlink(victim, kit.root / part)
    for argv in (
        ("agent", "install", str(kit.build("1.1.0")), *_p(kit)),
        ("agent", "rollback", *_p(kit)),
        ("agent", "status", *_p(kit)),
    ):
        r = run_cli(*argv)
        assert_one_line_error(r, 2)
        assert f"{part} is a symbolic link" in r.stderr
    _intact(victim)


def test_state_and_log_links_refused(kit: ReleaseKit, tmp_path: Path) -> None:
    assert run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit)).exit_code == 0
    real = tmp_path / "state-copy.json"
    os.rename(kit.root / "state.json", real)
    os.symlink(real, kit.root / "state.json")
    r = run_cli("agent", "log", "verify", *_p(kit))
    assert_one_line_error(r, 2)
    assert "state.json is a symbolic link" in r.stderr


def test_root_itself_a_link_refused(kit: ReleaseKit, tmp_path: Path) -> None:
    assert run_cli("agent", "install", str(kit.build("1.0.0")), *_p(kit)).exit_code == 0
    os.rename(kit.root, tmp_path / "real-root")
    os.symlink(tmp_path / "real-root", kit.root)
    r = run_cli("agent", "install", str(kit.build("1.1.0")), *_p(kit))
    assert_one_line_error(r, 2)
    assert "is a symbolic link" in r.stderr


def test_rollback_to_a_linked_release_refused(kit: ReleaseKit, tmp_path: Path) -> None:
    for v in ("1.0.0", "1.1.0"):
        assert run_cli("agent", "install", str(kit.build(v)), *_p(kit)).exit_code == 0
    outside = tmp_path / "outside-1.0.0"
    shutil.copytree(kit.root / "releases" / "1.0.0", outside, symlinks=True)
    shutil.rmtree(kit.root / "releases" / "1.0.0")
    os.symlink(outside, kit.root / "releases" / "1.0.0")
    r = run_cli("agent", "rollback", *_p(kit))
    assert r.exit_code == 1
    assert os.readlink(kit.root / "current") == "releases/1.1.0"
    assert (outside / "meta" / "release.json").is_file()  # the link's target is left alone


def test_commands_on_a_wrong_root_create_nothing(kit: ReleaseKit, tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    empty = tmp_path / "empty"
    empty.mkdir()
    for root in (typo, empty):
        for argv in (
            ("agent", "rollback", "--root", str(root)),
            ("agent", "status", "--root", str(root)),
            ("agent", "log", "verify", "--root", str(root)),
        ):
            r = run_cli(*argv)
            assert_one_line_error(r, 2)
            assert "agent root" in r.stderr
    assert not typo.exists()
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e9"])
def test_run_interval_must_be_finite_and_in_range(kit: ReleaseKit, value: str) -> None:
    r = run_cli("agent", "run", "--inbox", str(kit.base), "--interval", value, *_p(kit))
    assert r.exit_code == 2, r.stderr
    assert "Traceback" not in r.stderr and "--interval" in r.stderr
