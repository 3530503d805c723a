"""Helpers for CLI tests."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest


def make_char_device(path: Path, major: int, minor: int) -> Path:
    """A character device node in a temp dir (1,3 is null; 1,7 is full), never the real /dev."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        fd = os.open(path, os.O_WRONLY)
        os.close(fd)
    except PermissionError as exc:
        reason = f"cannot make or open device nodes here (needs CAP_MKNOD, no nodev): {exc}"
        if os.environ.get("NEBSIGN_REQUIRE_TOOLS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def agent_kit(base: Path) -> Any:
    """The agent tests' release kit (real keys, signatures and attestations)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agent"))
    from agentkit import ReleaseKit

    return ReleaseKit(base)
