"""Helpers for the install-split tests: the build-server commands and their extras, and
a real ``nebsign`` process that cannot import chosen modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO, Result

from nebsign._internal.extras import EXTRAS

ALL_EXTRA_MODULES = sorted({m for mods in EXTRAS.values() for m in mods})
_RUN = """
import sys
for name in sys.argv[1].split(","):
    if name:
        sys.modules[name] = None
sys.argv = ["nebsign", *sys.argv[2:]]
from nebsign.cli import main
main()
"""


def run_without(hidden: list[str], *args: str, cwd: Path | None = None) -> Result:
    """``nebsign ARGS`` in a real process that cannot import the *hidden* modules
    (``sys.modules[name] = None``: the import system then finds nothing, as in a
    venv without them)."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, ",".join(hidden), *args],
        capture_output=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=300,
        check=False,
    )
    return Result(
        proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(), proc.stdout
    )


ANY_FILE = str(REPO / "pyproject.toml")
#: every build-server command (arguments click accepts; "{tmp}" is a scratch directory
#: with an empty contracts/ in it) and the extra it needs
COMMANDS: list[tuple[tuple[str, ...], str]] = [
    (("scan", "sast"), "scan"),
    (("scan", "dast", "http://127.0.0.1:9"), "dast"),
    (("audit", "scan", "{tmp}/contracts"), "audit"),
    (("gate", "staging", "--baseline", ANY_FILE, "--current", ANY_FILE), "gates"),
    (("gate", "canary", "--metrics", ANY_FILE), "gates"),
    (("gate", "regional", "--metrics", ANY_FILE), "gates"),
    (("gate", "watch", "--metrics", ANY_FILE, "--store", "{tmp}"), "gates"),
    (("report", "build", "{tmp}/release", "-o", "{tmp}/report"), "report"),
    (("report", "verify", "{tmp}/report"), "report"),
    (("report", "rollout", "{tmp}", "-o", "{tmp}/status", "--channel-policy", ANY_FILE), "report"),
    (("demo",), "build"),
]
COMMAND_IDS = ["-".join(a for a in t if a[0] not in "-{/" and "://" not in a) for t, _ in COMMANDS]


def argv_in(template: tuple[str, ...], tmp: Path) -> list[str]:
    """*template*'s arguments with ``{tmp}`` filled in (and tmp/contracts made)."""
    (tmp / "contracts").mkdir(exist_ok=True)
    return [arg.replace("{tmp}", str(tmp)) for arg in template]


def command_name(template: tuple[str, ...]) -> str:
    """``nebsign scan sast``: the words of the command, without options and paths."""
    words = []
    for arg in template:
        if arg.startswith(("-", "{", "/")) or "://" in arg:
            break
        words.append(arg)
    return " ".join(["nebsign", *words])
