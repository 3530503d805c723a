"""safe_extract under I/O faults, in-process (docs/mutants.md, issue 15 item 1).

The faults are injected at the OS boundary: ``os.open``/``os.write``/``os.fsync``
as the unpacker calls them, and the builtin ``open`` the unpacker uses to read
the archive (returning a real file object wrapped so that its ``read`` fails
at a chosen offset). The function under test is never replaced. Each test
asserts the error class, its exit code, the whole message, and that no file
descriptor is left open; *dest* itself is left for the caller to remove, as
``safe_extract`` documents (the agent's stage removes its staging directory).
"""

from __future__ import annotations

import builtins
import errno
import io
import lzma
import os
from pathlib import Path
from typing import Any

import pytest
from test_unpack import _info, _tar
from test_unpack_stream_boundaries import _tar_bytes

from nebsign._internal import unpack
from nebsign._internal.unpack import XZ_MEMLIMIT, _XZReader, safe_extract
from nebsign.errors import EnvironmentFault, InputError, NebsignError


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _extract(tmp_path: Path, blob: bytes, suffix: str = ".tar") -> Path:
    archive = tmp_path / f"a{suffix}"
    archive.write_bytes(blob)
    safe_extract(archive, tmp_path / "out", max_bytes=10**9, max_files=100)
    return tmp_path / "out"


def _fails(tmp_path: Path, blob: bytes, kind: type[NebsignError], suffix: str = ".tar") -> str:
    before = _fds()
    with pytest.raises(kind) as info:
        _extract(tmp_path, blob, suffix)
    assert type(info.value) is kind
    assert _fds() == before  # nothing left open
    return info.value.message


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        (errno.ENOSPC, EnvironmentFault, "No space left on device"),
        (errno.EIO, EnvironmentFault, "Input/output error"),
        (errno.EFBIG, InputError, "File too large"),
    ],
)
def test_a_failing_write_names_the_member_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, kind: type[NebsignError], text: str
) -> None:
    real = os.write

    def write(fd: int, data: Any) -> int:
        if fd > 2:
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    message = _fails(tmp_path, _tar_bytes({"d/f.bin": b"x" * 5000}), kind)
    assert message == f"cannot write {tmp_path / 'out' / 'd' / 'f.bin'}: {text}"
    assert kind.exit_code == (3 if kind is EnvironmentFault else 2)


@pytest.mark.parametrize(("call", "action"), [("fsync", "write"), ("open", "create")])
def test_a_failing_fsync_or_create_names_the_member_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, action: str
) -> None:
    real = getattr(os, call)

    def fail(first: Any, *args: Any, **kw: Any) -> Any:
        target = first if call == "open" else os.readlink(f"/proc/self/fd/{first}")
        if os.fspath(target).endswith("/out/f"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(first, *args, **kw)

    monkeypatch.setattr(os, call, fail)
    message = _fails(tmp_path, _tar_bytes({"f": b"data"}), EnvironmentFault)
    assert message == f"cannot {action} {tmp_path / 'out' / 'f'}: Input/output error"


def test_short_writes_still_write_every_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.write
    sizes: list[int] = []

    def short(fd: int, data: Any) -> int:
        if fd <= 2:
            return real(fd, data)
        n = real(fd, bytes(data[:7]))  # the kernel may take fewer bytes than offered
        sizes.append(n)
        return n

    monkeypatch.setattr(os, "write", short)
    payload = bytes(range(256)) * 40
    out = _extract(tmp_path, _tar_bytes({"f": payload}))
    assert (out / "f").read_bytes() == payload
    assert len(sizes) == -(-len(payload) // 7)


class _FailingFile(io.RawIOBase):
    """A real archive file whose reads fail with *code* once they reach *at*."""

    def __init__(self, real: Any, at: int, code: int | None) -> None:
        self.real = real
        self.at = at
        self.code = code

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        result: int = self.real.seek(pos, whence)
        return result

    def tell(self) -> int:
        result: int = self.real.tell()
        return result

    def read(self, size: int | None = -1) -> bytes:
        if self.real.tell() >= self.at:
            if self.code is None:
                raise OSError("the device went away")
            raise OSError(self.code, os.strerror(self.code))
        data: bytes = self.real.read(size)
        return data

    def close(self) -> None:
        self.real.close()
        super().close()


def _open_failing_on(
    monkeypatch: pytest.MonkeyPatch, archive_name: str, *, skip: int, at: int, code: int | None
) -> None:
    """The unpacker's builtin ``open`` of *archive_name*: *skip* normal opens, then faulty ones."""
    real = builtins.open
    seen = {"n": 0}

    def fake(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        fh = real(file, mode, *args, **kw)
        if os.fspath(file).endswith(archive_name):
            seen["n"] += 1
            if seen["n"] > skip:
                return _FailingFile(fh, at, code)
        return fh

    monkeypatch.setattr(unpack, "open", fake, raising=False)


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        (errno.EIO, EnvironmentFault, "Input/output error"),
        (errno.EACCES, InputError, "Permission denied"),
    ],
)
def test_an_archive_that_cannot_be_reopened_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    kind: type[NebsignError],
    text: str,
) -> None:
    # safe_extract reads the magic, then the tar extractor opens the file again:
    # the second open fails (the file changed its mode or its disk in between).
    real = builtins.open
    opens: list[str] = []

    def fake(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if os.fspath(file).endswith("a.tar"):
            opens.append(mode)
            if len(opens) > 1:
                raise OSError(code, os.strerror(code))
        return real(file, mode, *args, **kw)

    monkeypatch.setattr(unpack, "open", fake, raising=False)
    message = _fails(tmp_path, _tar_bytes({"f": b"x"}), kind)
    assert message == f"cannot read {tmp_path / 'a.tar'}: {text}"
    assert opens == ["rb", "rb"]
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [
        (errno.EIO, EnvironmentFault, "Input/output error"),
        (errno.ESTALE, InputError, os.strerror(errno.ESTALE)),
    ],
)
def test_a_read_error_between_members_is_an_io_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    kind: type[NebsignError],
    text: str,
) -> None:
    # Member 1: header at 0, data at 512; the second header at 1024 cannot be read.
    blob = _tar_bytes({"one": b"1" * 100, "two": b"2" * 100})
    _open_failing_on(monkeypatch, "a.tar", skip=1, at=1024, code=code)
    message = _fails(tmp_path, blob, kind)
    assert message == f"cannot unpack {tmp_path / 'a.tar'}: {text}"
    assert (tmp_path / "out" / "one").read_bytes() == b"1" * 100


def test_a_read_error_without_errno_is_a_corrupt_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _tar_bytes({"one": b"1" * 100, "two": b"2" * 100})
    _open_failing_on(monkeypatch, "a.tar", skip=1, at=1024, code=None)
    message = _fails(tmp_path, blob, InputError)
    assert message == "archive a.tar: corrupt tar archive: the device went away"


def test_a_read_error_in_the_first_header_is_not_a_readable_tar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_failing_on(monkeypatch, "a.tar", skip=1, at=0, code=errno.EIO)
    message = _fails(tmp_path, _tar([_info("f")], {"f": b"x"}), InputError)
    assert message.startswith("archive a.tar: not a readable tar archive: ")


def test_the_xz_reader_reports_the_end_of_the_stream_as_zero_bytes() -> None:
    reader = _XZReader(io.BytesIO(lzma.compress(b"hello world")), XZ_MEMLIMIT)
    buf = bytearray(64)
    n = reader.readinto(buf)
    assert bytes(buf[:n]) == b"hello world"
    for _ in range(3):  # at the end, and after it: no byte more
        assert reader.readinto(bytearray(64)) == 0
    assert reader.read(10) == b""


def test_the_xz_reader_serves_a_small_buffer_piece_by_piece() -> None:
    data = bytes(range(256)) * 3
    reader = _XZReader(io.BytesIO(lzma.compress(data)), XZ_MEMLIMIT)
    got = bytearray()
    while n := reader.readinto(buf := bytearray(10)):
        assert 0 < n <= 10
        got += buf[:n]
    assert bytes(got) == data
