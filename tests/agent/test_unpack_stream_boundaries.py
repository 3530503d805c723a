"""safe_extract's streams at their bounds, in-process (docs/mutants.md): extended tar
headers, xz and gzip streams, and memory (peak Python allocations, not timing)."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import stat
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from test_unpack import _zip
from test_unpack_boundaries import HINT, _refused, _run
from test_unpack_headers import _header, _member, _xz_tar

from nebsign._internal.unpack import (
    MAX_EXT_CHAIN,
    MAX_EXT_HEADER,
    XZ_MEMLIMIT,
    HeaderRefused,
    UnpackResult,
)
from nebsign.errors import InputError


def _peak(fn: Callable[[], object]) -> int:
    """Peak of Python allocations (decompressed bytes are Python objects) while *fn* runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_zip_symlink_target_is_read_only_up_to_its_bound(tmp_path: Path) -> None:
    # 64 MiB of link target deflate to ~64 KiB: refused after reading 4,097 bytes
    blob = _zip([("l", b"a" * (64 * 1024 * 1024), stat.S_IFLNK | 0o777)])
    assert len(blob) < 200_000
    peak = _peak(lambda: _refused(tmp_path, blob, ".zip"))
    assert peak < 16 * 1024 * 1024, peak


def _xz(raw: bytes) -> bytes:
    return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)


def _tar_bytes(files: dict[str, bytes], *, end: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        size = buf.tell()
    raw = buf.getvalue()
    return raw if end else raw[:size]


def test_xz_member_is_decoded_in_bounded_pieces(tmp_path: Path) -> None:
    # 48 MiB of zeros in a few KiB of xz: extracted whole, never held in memory at once
    size = 48 * 1024 * 1024
    blob = _xz(_tar_bytes({"zeros": b"\0" * size}))
    assert len(blob) < 100_000
    peak = _peak(lambda: _run(tmp_path, blob, ".tar.xz"))
    assert (tmp_path / "out" / "zeros").stat().st_size == size
    assert peak < 30 * 1024 * 1024, peak  # measured ~15 MB; the whole member would be 48 MiB


def test_xz_tar_without_its_end_blocks_still_ends(tmp_path: Path) -> None:
    blob = _xz(_tar_bytes({"a": b"abc", "b": b"def"}, end=False))
    assert _run(tmp_path, blob, ".tar.xz") == UnpackResult(2, 0, 6)


def test_truncated_xz_stream_is_bad_input(tmp_path: Path) -> None:
    blob = _xz(_tar_bytes({"r": os.urandom(300_000)}))
    with pytest.raises(InputError) as info:
        _run(tmp_path, blob[: len(blob) // 2], ".tar.xz")
    assert info.value.message == "archive a.tar.xz: corrupt tar archive: xz stream ends early"


# --- extended tar headers at their bounds ---


def _pax(kind: bytes, total: int) -> bytes:
    """One extended header holding a single ``comment`` record of *total* bytes."""
    digits = len(str(total))
    value = "c" * (total - digits - len(" comment=\n"))
    record = f"{total} comment={value}\n".encode()
    assert len(record) == total
    pad = -len(record) % tarfile.BLOCKSIZE
    return _header("pax", kind, total) + record + b"\0" * pad


def _extract_raw(tmp_path: Path, data: bytes) -> UnpackResult:
    return _run(tmp_path, data + _member("a.txt", b"abc") + b"\0" * 1024, ".tar")


def test_an_extended_header_of_exactly_the_bound_is_read(tmp_path: Path) -> None:
    assert _extract_raw(tmp_path, _pax(tarfile.XHDTYPE, MAX_EXT_HEADER)).files == 1


def test_an_extended_header_one_byte_over_the_bound_is_refused(tmp_path: Path) -> None:
    data = _header("pax", tarfile.XHDTYPE, MAX_EXT_HEADER + 1)
    with pytest.raises(HeaderRefused) as info:
        _run(tmp_path, data + b"\0" * 4096, ".tar")
    assert info.value.message == (
        f"an extended tar header declares {MAX_EXT_HEADER + 1} bytes, over the bound of "
        f"{MAX_EXT_HEADER} (refused before reading it)"
    )
    assert info.value.hint == HINT


@pytest.mark.parametrize("count", [MAX_EXT_CHAIN, MAX_EXT_CHAIN + 1])
def test_extended_headers_in_a_row_up_to_the_chain_bound(tmp_path: Path, count: int) -> None:
    data = b"".join(_pax(tarfile.XHDTYPE, 100) for _ in range(count))
    if count == MAX_EXT_CHAIN:
        assert _extract_raw(tmp_path, data).files == 1
        return
    with pytest.raises(HeaderRefused) as info:
        _extract_raw(tmp_path, data)
    assert info.value.message == f"more than {MAX_EXT_CHAIN} extended tar headers in a row"


def test_global_headers_are_bounded_together_and_member_headers_are_not(
    tmp_path: Path,
) -> None:
    part = MAX_EXT_HEADER // 2 + 4096
    members = _pax(tarfile.XHDTYPE, part) + _member("m.txt", b"m")
    assert _extract_raw(tmp_path / "ok", members + _pax(tarfile.XHDTYPE, part)).files == 2
    with pytest.raises(HeaderRefused) as info:
        _extract_raw(tmp_path / "over", _pax(tarfile.XGLTYPE, part) * 2)
    assert info.value.message == f"global tar headers exceed {MAX_EXT_HEADER} bytes"


# --- unreadable and corrupt streams: bad input, whole messages ---


def test_xz_needing_too_much_memory_is_refused_as_unsafe(tmp_path: Path) -> None:
    msg = _refused(tmp_path, _xz_tar(dict_prop=38), ".tar.xz")
    assert msg == (
        f"archive a.tar.xz: member '?' refused: its xz stream needs more than {XZ_MEMLIMIT} bytes"
    )


def test_xz_that_is_not_a_tar_stream_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        _run(tmp_path, b"\xfd7zXZ\x00" + b"garbage" * 100, ".tar.xz")
    assert info.value.message == "archive a.tar.xz: not a readable tar archive: Corrupt input data"


def test_xz_corrupt_after_its_first_members_is_bad_input(tmp_path: Path) -> None:
    data = bytearray(_xz(_tar_bytes({"r": os.urandom(200_000)})))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(InputError) as info:
        _run(tmp_path, bytes(data), ".tar.xz")
    assert info.value.message == "archive a.tar.xz: corrupt xz stream: Corrupt input data"


def test_gzip_garbage_after_the_members_is_a_corrupt_archive(tmp_path: Path) -> None:
    # gzip's BadGzipFile is an OSError without errno: bad input, not an I/O fault
    blob = gzip.compress(_tar_bytes({"r": b"abc"}, end=False)) + b"XXgarbage"
    with pytest.raises(InputError) as info:
        _run(tmp_path, blob, ".tar.gz")
    assert info.value.message == (
        "archive a.tar.gz: corrupt tar archive: Not a gzipped file (b'XX')"
    )


def test_xz_tar_headers_are_bounded_too(tmp_path: Path) -> None:
    data = _header("pax", tarfile.XHDTYPE, MAX_EXT_HEADER + 1) + b"\0" * 8192
    with pytest.raises(HeaderRefused):
        _run(tmp_path, _xz(data), ".tar.xz")


def test_a_large_plain_tar_is_read_in_pieces(tmp_path: Path) -> None:
    size = 40 * 1024 * 1024
    blob = _tar_bytes({"big": b"\0" * size})
    peak = _peak(lambda: _run(tmp_path, blob, ".tar"))
    assert (tmp_path / "out" / "big").stat().st_size == size
    assert peak < 24 * 1024 * 1024, peak


def test_one_global_header_of_exactly_the_bound_is_read(tmp_path: Path) -> None:
    assert _extract_raw(tmp_path, _pax(tarfile.XGLTYPE, MAX_EXT_HEADER)).files == 1


def test_the_chain_count_starts_again_at_each_member(tmp_path: Path) -> None:
    members = b"".join(
        _pax(tarfile.XHDTYPE, 100) + _member(f"m{i}", b"x") for i in range(MAX_EXT_CHAIN + 2)
    )
    assert _extract_raw(tmp_path, members).files == MAX_EXT_CHAIN + 3


def test_xz_decoding_resumes_mid_stream_without_new_input(tmp_path: Path) -> None:
    # zeros between random data: a decode call fills its output while compressed input
    # is still pending in the middle of the stream; the next call must add nothing
    data = os.urandom(200_000) + b"\0" * (8 * 1024 * 1024) + os.urandom(200_000)
    assert _run(tmp_path, _xz(_tar_bytes({"mixed": data})), ".tar.xz").bytes == len(data)
    assert (tmp_path / "out" / "mixed").read_bytes() == data
