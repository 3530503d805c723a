"""Scanner versions, cheaply: they key the cache and are recorded in verdicts."""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

from nebsign.sast.interface import ScannerFailed, run_tool

__all__ = ["tool_version"]

_VERSION = re.compile(r"\b(\d+\.\d+(?:\.\d+)?(?:[.\w+-]*)?)")


@functools.cache
def tool_version(executable: str, distribution: str) -> str:
    """Version of the tool at *executable*.

    A tool installed beside the running interpreter belongs to the same
    environment, so its distribution metadata is authoritative and costs no
    process start. Otherwise ``TOOL --version`` is asked.
    """
    if Path(executable).parent == Path(sys.executable).parent:
        found = _dist_info_version(distribution)
        if found:
            return found
        import importlib.metadata

        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    env = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}
    proc = run_tool([executable, "--version"], cwd=Path.cwd(), timeout=60, env=env)
    if proc is None or proc.returncode != 0:
        raise ScannerFailed(f"{executable} --version failed")
    match = _VERSION.search(proc.stdout.decode(errors="replace"))
    if match is None:
        raise ScannerFailed(f"{executable} --version printed no version")
    return match.group(1)


def _dist_info_version(distribution: str) -> str | None:
    """``NAME-VERSION.dist-info`` on sys.path: what importlib.metadata reads, minus its import."""
    prefix = f"{distribution}-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix) and name.endswith(".dist-info"):
                version = name[len(prefix) : -len(".dist-info")]
                if _VERSION.fullmatch(version):
                    return version
    return None
