"""Issue 9 item 9: on a full disk the log tells the truth: one attempt, one outcome."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentkit import ReleaseKit

from nebsign.agent.auditlog import verify_log
from nebsign.agent.install import install_release
from nebsign.agent.rollback import agent_status
from nebsign.agent.session import DiskFull
from nebsign.agent.state import load_state


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "fs"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if r.returncode != 0:
        if os.environ.get("NEBSIGN_REQUIRE_TOOLS"):
            pytest.fail(f"cannot mount a tmpfs: {r.stderr!r}")
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {r.stderr!r}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mnt: Path) -> Path:
    """Write until the filesystem says ENOSPC, in pages and then byte by byte."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (b"\0" * 65536, b"\0" * 4096, b"\0"):
            with contextlib.suppress(OSError):
                while os.write(fd, chunk):
                    pass
    finally:
        os.close(fd)
    return filler


def test_disk_full_after_the_switch(kit: ReleaseKit, small_fs: Path) -> None:
    kit.root = small_fs / "agent"
    kit.write_policy()
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0")))
    filled: list[Path] = []

    def step(name: str) -> None:
        if name == "root-fsynced":  # current now points to the new release
            filled.append(_fill(small_fs))

    with pytest.raises(DiskFull) as info:
        install_release(policy, str(kit.build("1.1.0")), step=step)
    message = info.value.message
    assert "disk full" in message and str(kit.root) in message
    assert "1.1.0 is installed and live" in message
    assert kit.current_payload() == b"app 1.1.0\n"
    events = [e["event"] for e in kit.log_events()]
    assert "refused" not in events  # never "installed" then "refused" for one attempt
    for f in small_fs.glob("filler*"):
        f.unlink()
    st = agent_status(kit.root)  # read-only: still consistent enough to report
    assert st.linked == "1.1.0"
    install_release(policy, str(kit.build("1.1.0")))  # recovery completes; idempotent
    state = load_state(kit.root / "state.json")
    assert state.current == "1.1.0" and state.highest == "1.1.0"
    events = kit.log_events()
    assert [e["event"] for e in events].count("installed") == 2
    assert [e.get("version") for e in events if e["event"] == "installed"] == ["1.0.0", "1.1.0"]
    assert "refused" not in [e["event"] for e in events]
    verify_log(kit.root / "audit.log", state.log)


def test_disk_full_while_staging_is_an_environment_fault(kit: ReleaseKit, small_fs: Path) -> None:
    kit.root = small_fs / "agent"
    kit.write_policy()
    policy = kit.policy()
    install_release(policy, str(kit.build("1.0.0")))
    _fill(small_fs)
    with pytest.raises(Exception) as info:
        install_release(policy, str(kit.build("1.1.0", {"bin/app": os.urandom(512 * 1024)})))
    assert getattr(info.value, "exit_code", None) == 3
    assert "No space left" in str(info.value) or "disk full" in str(info.value)
    assert kit.current_payload() == b"app 1.0.0\n"
    assert errno.ENOSPC  # the cause named is the disk, checked by the message above
