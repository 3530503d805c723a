"""`-o` and every other output option never destroy what they point at (issue 9 item 16).

A regular file or a new path is replaced atomically; a character device, a
FIFO and the target of a symlink are written through; `-o -` is stdout.
Device nodes are made with mknod in a temp directory, never the real /dev.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from cli.clikit import make_char_device
from helpers import NEBSIGN, assert_one_line_error, run_cli

from nebsign._internal.atomic import write_output
from nebsign.errors import EnvironmentFault, InputError


def _outputs(tmp_path: Path, priv: Path) -> dict[str, list[str]]:
    """Each output option, as argv with OUT where the output path goes."""
    (tmp_path / "tree").mkdir(exist_ok=True)
    (tmp_path / "tree" / "a.txt").write_text("a\n")
    (tmp_path / "pred.json").write_text('{"verdict": "pass"}')
    art = str(tmp_path / "tree" / "a.txt")
    return {
        "manifest create -o": ["manifest", "create", str(tmp_path / "tree"), "-o", "OUT"],
        "sign -o": ["sign", art, "--key", str(priv), "-o", "OUT"],
        "attest create -o": [
            "attest",
            "create",
            "--type",
            "sast",
            "--predicate",
            str(tmp_path / "pred.json"),
            "--subject",
            art,
            "--key",
            str(priv),
            "-o",
            "OUT",
        ],
    }


def _with(argv: list[str], out: Path | str) -> list[str]:
    return [str(out) if a == "OUT" else a for a in argv]


OPTIONS = ["manifest create -o", "sign -o", "attest create -o"]


@pytest.mark.parametrize("option", OPTIONS)
def test_char_device_is_written_through(
    tmp_path: Path, keypair: tuple[Path, Path], option: str
) -> None:
    null = make_char_device(tmp_path / "null", 1, 3)
    r = run_cli(*_with(_outputs(tmp_path, keypair[0])[option], null))
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)  # still the device, not a regular file


@pytest.mark.parametrize("option", OPTIONS)
def test_full_device_is_an_environment_fault(
    tmp_path: Path, keypair: tuple[Path, Path], option: str
) -> None:
    full = make_char_device(tmp_path / "full", 1, 7)
    r = run_cli(*_with(_outputs(tmp_path, keypair[0])[option], full))
    assert_one_line_error(r, 3)
    assert "No space left" in r.stderr
    assert stat.S_ISCHR(os.lstat(full).st_mode)


@pytest.mark.parametrize("option", OPTIONS)
def test_symlink_target_gets_the_bytes_and_the_link_stays(
    tmp_path: Path, keypair: tuple[Path, Path], option: str
) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    r = run_cli(*_with(_outputs(tmp_path, keypair[0])[option], link))
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() not in (b"", b"old")


@pytest.mark.parametrize("option", OPTIONS)
def test_dash_is_stdout(tmp_path: Path, keypair: tuple[Path, Path], option: str) -> None:
    r = run_cli(*_with(_outputs(tmp_path, keypair[0])[option], "-"))
    assert r.exit_code == 0, r.stderr
    assert not (tmp_path / "-").exists()
    data = json.loads(r.stdout)  # only the output on stdout: notes go to stderr
    assert isinstance(data, dict)


@pytest.mark.parametrize("option", OPTIONS)
def test_fifo_is_written_through(tmp_path: Path, keypair: tuple[Path, Path], option: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    t = threading.Thread(target=reader)
    t.start()
    r = run_cli(*_with(_outputs(tmp_path, keypair[0])[option], fifo), timeout=60)
    t.join(60)
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and got[0].startswith(b"{")


def test_regular_file_replaced_atomically(tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    out.write_bytes(b"old")
    os.link(out, tmp_path / "hard")
    write_output(out, b"new")
    assert out.read_bytes() == b"new"
    assert (tmp_path / "hard").read_bytes() == b"old"  # a new inode: replaced, not rewritten
    write_output(tmp_path / "new.json", b"x")
    assert (tmp_path / "new.json").read_bytes() == b"x"


def test_refused_targets(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        write_output(tmp_path, b"x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="does not exist"):
        write_output(tmp_path / "dangling", b"x")
    assert not (tmp_path / "nowhere").exists()
    full = make_char_device(tmp_path / "full", 1, 7)
    with pytest.raises(EnvironmentFault):
        write_output(full, b"x")


def test_scan_outputs_take_the_same_path(tmp_path: Path) -> None:
    """--sarif/--manifest of `scan sast` go through the same writer (a device stays one)."""
    (tmp_path / "ok.py").write_text("x = 1\n")
    null = make_char_device(tmp_path / "null", 1, 3)
    r = run_cli("scan", "sast", "--sarif", str(null), "--manifest", "-", "--no-cache",
                cwd=tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert json.loads(r.stdout)["files"]  # the manifest on stdout, the summary on stderr
    both = run_cli("scan", "sast", "--sarif", "-", "--manifest", "-", cwd=tmp_path)
    assert_one_line_error(both, 2)


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1"])
def test_own_stdout_keeps_the_shells_redirection(
    tmp_path: Path, keypair: tuple[Path, Path], name: str
) -> None:
    """`-o /dev/stdout >> log` appends (the fd is written, the log is never replaced)."""
    argv = _with(_outputs(tmp_path, keypair[0])["sign -o"], name)
    piped = run_cli(*argv)
    assert piped.exit_code == 0, piped.stderr
    assert json.loads(piped.stdout)["mediaType"].startswith("application/vnd.dev.sigstore")
    log = tmp_path / "log"
    log.write_bytes(b"first line\n")
    inode = log.stat().st_ino
    with open(log, "ab") as out:
        proc = subprocess.run([*NEBSIGN, *argv], stdout=out, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr
    assert log.read_bytes().startswith(b'first line\n{"mediaType"')
    assert log.stat().st_ino == inode


def test_library_writes_own_descriptors_directly(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"a\n")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write_output(f"/dev/fd/{fd}", b"b\n")
    finally:
        os.close(fd)
    assert log.read_bytes() == b"a\nb\n"
