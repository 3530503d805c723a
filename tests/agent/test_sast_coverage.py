"""Issue 18 item 6: a SAST pass counts only for a release whose Python it scanned."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentkit import ReleaseKit

from nebsign.agent.install import install_release
from nebsign.digest import sha256_bytes
from nebsign.errors import VerdictError

CLEAN = b"def handler(x):\n    return x\n"
EVIL = b"import os\n\n\ndef handler(x):\n    os.system(x)\n"


def test_a_sast_pass_about_other_files_is_refused(tmp_path: Path) -> None:
    """A clean tree's SAST result, attested about this release.json, does not install it."""
    kit = ReleaseKit(tmp_path)
    files = {"bin/app": b"#!/bin/sh\n", "app/main.py": EVIL}
    clean_scan = {"app/main.py": f"sha256:{sha256_bytes(CLEAN)}"}
    rel = kit.build("1.0.0", files, sast_scanned=clean_scan)
    with pytest.raises(VerdictError) as info:
        install_release(kit.policy(), str(rel))
    assert "does not cover the release" in info.value.message
    assert "app/main.py: scanned with other content" in info.value.message
    assert not (kit.root / "current").exists()


def test_a_sast_pass_missing_a_file_python_runs_is_refused(tmp_path: Path) -> None:
    kit = ReleaseKit(tmp_path)
    files = {"bin/app": b"#!/bin/sh\n", "app/main.py": CLEAN, "app/boot.pth": b"import os\n"}
    scanned = {"app/main.py": f"sha256:{sha256_bytes(CLEAN)}"}
    rel = kit.build("1.0.0", files, sast_scanned=scanned)
    with pytest.raises(VerdictError) as info:
        install_release(kit.policy(), str(rel))
    assert "app/boot.pth: not scanned" in info.value.message


def test_a_sast_pass_covering_the_release_installs(tmp_path: Path) -> None:
    kit = ReleaseKit(tmp_path)
    rel = kit.build("1.0.0", {"bin/app": b"#!/bin/sh\n", "app/main.py": CLEAN})
    install_release(kit.policy(), str(rel))
    assert (kit.root / "current" / "payload" / "app" / "main.py").read_bytes() == CLEAN
