"""Issue 17.3: ``hash --check`` streams its checksum file (GNU sha256sum: 1.5 MB).

A 32 MiB checksum file took 261 MB: it was read whole, split, and parsed
into a list before the first file was checked. Peak RSS of the real process
(``os.wait4``) must not grow with the file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from helpers import assert_one_line_error, run_cli

from nebsign.checksums import MAX_LINE_BYTES

#: runs nebsign, then writes the process's own peak RSS (VmHWM, KiB: per address
#: space, so unlike ru_maxrss not inherited from a large parent) to the file $HWM_FILE
_HWM = (
    "import os, runpy, sys\n"
    "sys.argv[0] = 'nebsign'\n"
    "try:\n"
    "    runpy.run_module('nebsign', run_name='__main__')\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "    open(os.environ['HWM_FILE'], 'w').write(hwm)\n"
)


def _max_rss_kib(args: list[str], cwd: Path) -> tuple[int, int]:
    """(exit code, peak RSS in KiB) of one nebsign process, measured by itself."""
    hwm = cwd / ".hwm"
    env = {**os.environ, "HWM_FILE": str(hwm)}
    proc = subprocess.run(
        [sys.executable, "-c", _HWM, *args], cwd=cwd, env=env, check=False,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc.returncode, int(hwm.read_text())


def test_check_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x")
    line = f"{hashlib.sha256(b'x').hexdigest()}  a\n".encode()
    (tmp_path / "small.sums").write_bytes(line)
    (tmp_path / "big.sums").write_bytes(line * (16 * 2**20 // len(line)))  # 16 MiB, 250k lines
    code, small = _max_rss_kib(["hash", "--check", "small.sums", "-q"], tmp_path)
    assert code == 0
    code, big = _max_rss_kib(["hash", "--check", "big.sums", "-q"], tmp_path)
    assert code == 0
    assert big - small < 8 * 1024, (small, big)  # KiB: far below the 16 MiB file


def test_an_overlong_line_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x")
    digest = hashlib.sha256(b"x").hexdigest()
    (tmp_path / "s").write_bytes(f"{digest}  a\n{digest}  {'b' * MAX_LINE_BYTES}\n".encode())
    result = run_cli("hash", "--check", "s", cwd=tmp_path)
    assert "a: OK" in result.stdout
    assert_one_line_error(result, 2)
    assert "line 2 is longer" in result.stderr


def test_stdin_streams_too(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x")
    line = f"{hashlib.sha256(b'x').hexdigest()}  a\n".encode()
    result = run_cli("hash", "--check", "-", input=line * 3, cwd=tmp_path)
    assert result.exit_code == 0 and result.stdout.count("a: OK") == 3
    assert sys.executable
