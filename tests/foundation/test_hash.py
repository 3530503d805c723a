"""`nebsign hash` against GNU coreutils sha256sum: byte parity both ways."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli

AWKWARD = [
    "plain.txt",
    "with space.bin",
    "ünïcödé-名前.txt",
    "back\\slash",
    "new\nline",
    "carriage\rreturn",
    "-leading-dash",
    " leading space",
    "trailing space ",
    "star*name",
    "tab\tname",
]


def make_tree(root: Path) -> list[str]:
    names = []
    for i, name in enumerate(AWKWARD):
        (root / name).write_bytes(os.urandom(i * 997))
        names.append(name)
    sub = root / "sub dir" / "deep"
    sub.mkdir(parents=True)
    (sub / "x\\y\nz").write_bytes(b"nested")
    (root / "empty").write_bytes(b"")
    names.append("empty")
    return sorted(names)


def sha256sum(args: list[str], cwd: Path) -> bytes:
    return subprocess.run(
        ["sha256sum", "--", *args], cwd=cwd, capture_output=True, check=True
    ).stdout


def test_output_is_byte_identical_to_sha256sum(tmp_path: Path) -> None:
    names = make_tree(tmp_path)
    ours = run_cli("hash", "--", *names, cwd=tmp_path)
    assert ours.exit_code == 0, ours.stderr
    assert ours.stdout_bytes == sha256sum(names, tmp_path)


def test_recursive_matches_sha256sum_of_every_file(tmp_path: Path) -> None:
    make_tree(tmp_path)
    ours = run_cli("hash", "-r", ".", cwd=tmp_path)
    assert ours.exit_code == 0, ours.stderr
    files = sorted(
        os.path.relpath(os.path.join(d, f), tmp_path) for d, _, fs in os.walk(tmp_path) for f in fs
    )
    expected = sha256sum(["./" + f for f in files], tmp_path)
    assert sorted(ours.stdout_bytes.splitlines(keepends=True)) == sorted(
        expected.splitlines(keepends=True)
    )


def test_sha256sum_check_accepts_our_output(tmp_path: Path) -> None:
    names = make_tree(tmp_path)
    ours = run_cli("hash", "--", *names, cwd=tmp_path)
    (tmp_path / "SUMS").write_bytes(ours.stdout_bytes)
    check = subprocess.run(
        ["sha256sum", "-c", "--strict", "SUMS"], cwd=tmp_path, capture_output=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_we_check_sha256sum_output_and_print_what_it_prints(tmp_path: Path) -> None:
    names = make_tree(tmp_path)
    (tmp_path / "SUMS").write_bytes(sha256sum(names, tmp_path))
    ours = run_cli("hash", "--check", "SUMS", cwd=tmp_path)
    theirs = subprocess.run(["sha256sum", "-c", "SUMS"], cwd=tmp_path, capture_output=True)
    assert ours.exit_code == 0, ours.stderr
    assert ours.stdout_bytes == theirs.stdout


def test_check_reports_every_mismatch_and_exits_1(tmp_path: Path) -> None:
    names = make_tree(tmp_path)
    (tmp_path / "SUMS").write_bytes(sha256sum(names, tmp_path))
    (tmp_path / "plain.txt").write_bytes(b"tampered")
    (tmp_path / "with space.bin").unlink()
    ours = run_cli("hash", "--check", "SUMS", cwd=tmp_path)
    theirs = subprocess.run(["sha256sum", "-c", "SUMS"], cwd=tmp_path, capture_output=True)
    assert ours.exit_code == 1
    assert theirs.returncode == 1
    assert b"plain.txt: FAILED\n" in ours.stdout_bytes
    assert b"with space.bin: FAILED open or read\n" in ours.stdout_bytes
    assert "2 of" in ours.stderr


def test_check_accepts_bsd_tagged_lines(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    tagged = subprocess.run(
        ["sha256sum", "--tag", "a"], cwd=tmp_path, capture_output=True, check=True
    ).stdout
    (tmp_path / "SUMS").write_bytes(tagged)
    assert run_cli("hash", "-c", "SUMS", cwd=tmp_path).exit_code == 0


def test_stdin(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    result = run_cli("hash", "-", input=data)
    assert result.stdout == f"{hashlib.sha256(data).hexdigest()}  -\n"


def test_json_output(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    result = run_cli("hash", "--format", "json", "a", cwd=tmp_path)
    assert result.exit_code == 0
    assert '"sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"' in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["hash", "missing-file"], "missing-file"),
        (["hash", "."], "is a directory"),
        (["hash"], "PATH"),
        (["hash", "--check", "missing"], "missing"),
        (["hash", "--bogus"], "--bogus"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert_one_line_error(result, 2)
    assert needle in result.stderr


@pytest.mark.parametrize(
    "content",
    [b"not a checksum line\n", b"", b"# only a comment\n", b"\\" + b"0" * 64 + b"  bad\\qescape\n"],
)
def test_malformed_check_file_exits_2(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "SUMS").write_bytes(content)
    assert_one_line_error(run_cli("hash", "-c", "SUMS", cwd=tmp_path), 2)


def test_symlink_argument_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t").write_bytes(b"x")
    (tmp_path / "l").symlink_to("t")
    result = run_cli("hash", "l", cwd=tmp_path)
    assert_one_line_error(result, 2)


def test_unwritable_output_is_an_environment_fault(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [*__import__("helpers").NEBSIGN, "hash", "a"],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
        )
    assert proc.returncode == 3
    assert b"Traceback" not in proc.stderr
    assert b"No space left" in proc.stderr


def test_verbose_shows_traceback(tmp_path: Path) -> None:
    result = run_cli("-v", "hash", "missing", cwd=tmp_path)
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
