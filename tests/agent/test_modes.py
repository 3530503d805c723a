"""Issue 9 item 8: what is switched to is readable by a service running as another user."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from helpers import REPO

NOBODY = 65534
_NEBSIGN = [sys.executable, "-m", "nebsign"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="reading as a second uid needs root")


@pytest.fixture
def open_base() -> Iterator[Path]:
    # pytest's tmp_path sits below a 0700 directory; a service user must be able to traverse.
    base = Path(tempfile.mkdtemp(prefix="nebsign-modes-", dir="/tmp"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base)


def _tgz() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, mode in (("share/data.txt", 0o600), ("bin/tool", 0o700)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = 5, mode
            tf.addfile(info, io.BytesIO(b"data\n"))
    return buf.getvalue()


def test_release_readable_by_another_user_under_a_strict_umask(open_base: Path) -> None:
    kit = ReleaseKit(open_base / "k", extra_policy="[unpack]\nenabled = true\n")
    os.chmod(kit.base, 0o755)
    rel = kit.build(
        "1.0.0",
        {"bin/app": b"#!/bin/sh\necho hi\n", "etc/app.conf": b"x=1\n", "a.tgz": _tgz()},
        executable=("bin/app",),
    )
    r = subprocess.run(
        [*_NEBSIGN, "agent", "install", str(rel), "--policy", str(kit.policy_path)],
        cwd=REPO,
        capture_output=True,
        umask=0o077,  # a daemon's strict umask must not leak into the installed release
        check=False,
    )
    assert r.returncode == 0, r.stderr
    current = kit.root / "current"
    for rel_path in ("payload/etc/app.conf", "payload/bin/app", "unpacked/a.tgz/share/data.txt"):
        got = subprocess.run(
            ["/bin/cat", str(current / rel_path)], user=NOBODY, capture_output=True, check=False
        )
        assert got.returncode == 0, (rel_path, got.stderr)
    release = kit.root / "releases" / "1.0.0"
    modes = {
        str(p.relative_to(release)): stat.S_IMODE(p.lstat().st_mode)
        for p in [release, *release.rglob("*")]
        if not p.is_symlink()
    }
    assert modes["."] == 0o755 and modes["payload"] == 0o755
    assert modes["payload/bin/app"] == 0o755 and modes["payload/etc/app.conf"] == 0o644
    assert modes["unpacked/a.tgz/bin/tool"] == 0o755
    assert modes["unpacked/a.tgz/share/data.txt"] == 0o644
    assert all(m in (0o755, 0o644) for m in modes.values()), modes
    assert stat.S_IMODE((kit.root / "staging").stat().st_mode) == 0o700
