"""Rollback: back to the previous verified release, re-checked; refused when corrupted."""

from __future__ import annotations

import os

import pytest
from agentkit import ReleaseKit

from nebsign.agent.install import install_release
from nebsign.agent.rollback import CorruptRelease, NothingToRollBack, agent_status, rollback
from nebsign.agent.state import load_state


def _two(kit: ReleaseKit) -> None:
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0", {"bin/app": b"one\n", "lib/x": b"x1"})))
    install_release(policy, str(kit.build("1.1.0", {"bin/app": b"two\n", "lib/x": b"x2"})))


def test_rollback_to_previous_and_forward_again(kit: ReleaseKit) -> None:
    _two(kit)
    out = rollback(kit.root)
    assert out.previous == "1.1.0" and out.current.version == "1.0.0"
    assert kit.current_payload() == b"one\n"
    state = load_state(kit.root / "state.json")
    assert state.current == "1.0.0" and state.highest == "1.1.0"
    assert kit.log_events()[-1]["event"] == "rolled-back"
    # a downgrade by install stays refused after a rollback; roll-forward is explicit
    out = rollback(kit.root, "1.1.0")
    assert kit.current_payload() == b"two\n"
    with pytest.raises(NothingToRollBack):
        rollback(kit.root, "1.1.0")
    with pytest.raises(NothingToRollBack, match="not installed"):
        rollback(kit.root, "0.9.0")


def test_rollback_with_nothing_older(kit: ReleaseKit) -> None:
    install_release(kit.policy(), str(kit.build("1.0.0")))
    with pytest.raises(NothingToRollBack, match="no older release"):
        rollback(kit.root)


@pytest.mark.parametrize("damage", ["edit", "delete", "add", "manifest"])
def test_rollback_refuses_corrupted_previous(kit: ReleaseKit, damage: str) -> None:
    _two(kit)
    old = kit.root / "releases" / "1.0.0"
    if damage == "edit":
        (old / "payload" / "lib" / "x").write_bytes(b"X1")
    elif damage == "delete":
        (old / "payload" / "bin" / "app").unlink()
    elif damage == "add":
        (old / "payload" / "backdoor").write_bytes(b"evil")
    else:
        (old / "meta" / "release.json").write_bytes(b"{}")
    with pytest.raises(CorruptRelease, match="refusing to roll back") as info:
        rollback(kit.root)
    assert info.value.exit_code == 1
    assert os.readlink(kit.root / "current") == "releases/1.1.0"
    last = kit.log_events()[-1]
    assert last["event"] == "rollback-refused" and last["version"] == "1.0.0"


def test_status(kit: ReleaseKit) -> None:
    _two(kit)
    st = agent_status(kit.root)
    assert st.current == "1.1.0" and st.linked == "1.1.0" and st.log_ok
    assert [r.version for r in st.releases] == ["1.0.0", "1.1.0"]
    assert all(r.signers for r in st.releases)
    (kit.root / "audit.log").write_text("")
    st = agent_status(kit.root)
    assert not st.log_ok and "truncated" in (st.log_problem or "")


def test_executables_keep_their_signed_mode_through_install_and_rollback(kit: ReleaseKit) -> None:
    policy = kit.policy()
    for version in ("1.0.0", "1.1.0"):
        rel = kit.build(
            version,
            {"bin/app": f"#!/bin/sh\necho {version}\n".encode(), "lib/x": b"x"},
            executable=("bin/app",),
        )
        # a mode changed in the source after signing is not trusted
        os.chmod(rel / "payload" / "lib" / "x", 0o755)
        install_release(policy, str(rel))
    current = kit.root / "current" / "payload"
    assert os.stat(current / "bin" / "app").st_mode & 0o777 == 0o755
    assert os.stat(current / "lib" / "x").st_mode & 0o777 == 0o644
    out = rollback(kit.root)  # re-checks files and modes against the stored manifest
    assert out.current.version == "1.0.0"
    assert os.stat(kit.root / "current" / "payload" / "bin" / "app").st_mode & 0o777 == 0o755
