"""Issue 9 item 6: tar headers are bounded before they are read (peak memory measured)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from nebsign._internal.unpack import MAX_EXT_HEADER, HeaderRefused, UnsafeArchive, safe_extract
from nebsign.errors import InputError

HUGE = 256 * 1024 * 1024  # declared header size: 256 MiB of zeros, ~250 KiB gzipped
MEMORY_BOUND = 48 * 1024 * 1024  # peak RSS growth allowed for one unpack

_MEASURE = """
import json, resource, sys
from pathlib import Path
from nebsign._internal.unpack import safe_extract
from nebsign.errors import NebsignError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    safe_extract(Path(sys.argv[1]), Path(sys.argv[2]), max_bytes=2**40, max_files=1000)
    outcome = "extracted"
except NebsignError as exc:
    outcome = type(exc).__name__ + ": " + exc.message
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew": (after - before) * 1024, "outcome": outcome}))
"""


def _header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _member(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    pad = -len(data) % tarfile.BLOCKSIZE
    return info.tobuf(format=tarfile.USTAR_FORMAT) + data + b"\0" * pad


def _write_bomb(path: Path, kind: bytes, size: int) -> None:
    """A gzip tar whose first header declares *size* bytes of extended header (streamed)."""
    zeros = b"\0" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(_header("././@LongLink", kind, size))
        left = size
        while left:
            n = min(left, len(zeros))
            gz.write(zeros[:n])
            left -= n
        gz.write(b"\0" * (-size % tarfile.BLOCKSIZE))
        gz.write(_member("app.txt", b"hello\n"))
        gz.write(b"\0" * (2 * tarfile.BLOCKSIZE))


def _measure(archive: Path, dest: Path) -> dict[str, object]:
    r = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(archive), str(dest)],
        capture_output=True,
        timeout=300,
        check=True,
    )
    result: dict[str, object] = json.loads(r.stdout)
    return result


@pytest.mark.parametrize(
    "kind",
    [tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE],
    ids=["gnu-longname", "gnu-longlink", "pax", "pax-global"],
)
def test_huge_extended_header_refused_within_memory_bound(tmp_path: Path, kind: bytes) -> None:
    archive = tmp_path / "bomb.tar.gz"
    _write_bomb(archive, kind, HUGE)
    assert archive.stat().st_size < 2 * 1024 * 1024
    result = _measure(archive, tmp_path / "out")
    assert str(result["outcome"]).startswith("HeaderRefused"), result
    assert isinstance(result["grew"], int) and result["grew"] < MEMORY_BOUND, result


def test_header_at_the_bound_is_still_read(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("a.txt")
        info.size = 3
        info.pax_headers = {"comment": "c" * 4000}
        tf.addfile(info, io.BytesIO(b"abc"))
    (tmp_path / "ok.tar").write_bytes(buf.getvalue())
    result = safe_extract(tmp_path / "ok.tar", tmp_path / "out", max_bytes=100, max_files=10)
    assert result.files == 1 and (tmp_path / "out" / "a.txt").read_bytes() == b"abc"


def test_chain_of_extended_headers_refused(tmp_path: Path) -> None:
    block = b"20 comment=xxxxxxxx\n"
    data = b""
    for _ in range(50):
        data += _header("pax", tarfile.XHDTYPE, len(block)) + block.ljust(512, b"\0")
    data += _member("a.txt", b"abc") + b"\0" * 1024
    (tmp_path / "chain.tar").write_bytes(data)
    with pytest.raises(HeaderRefused, match="in a row"):
        safe_extract(tmp_path / "chain.tar", tmp_path / "out", max_bytes=100, max_files=10)


def test_sparse_member_refused(tmp_path: Path) -> None:
    data = _header("sparse", tarfile.GNUTYPE_SPARSE, 0) + b"\0" * 1024
    (tmp_path / "sparse.tar").write_bytes(data)
    with pytest.raises(HeaderRefused, match="sparse"):
        safe_extract(tmp_path / "sparse.tar", tmp_path / "out", max_bytes=100, max_files=10)


def test_bound_is_well_above_real_names() -> None:
    assert MAX_EXT_HEADER >= 64 * 4096  # PATH_MAX-long names and link targets fit many times


def _xz_tar(dict_prop: int | None = None) -> bytes:
    """A small .tar.xz; with *dict_prop*, its block header claims that LZMA2 dictionary size."""
    import lzma
    import zlib

    raw = _member("a.txt", b"hello xz\n") + b"\0" * (2 * tarfile.BLOCKSIZE)
    data = bytearray(lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32))
    if dict_prop is not None:
        size = (data[12] + 1) * 4  # the block header follows the 12-byte stream header
        header = data[12 : 12 + size]
        i = header.index(b"\x21\x01", 2)  # filter id LZMA2, one property byte
        header[i + 2] = dict_prop
        header[-4:] = zlib.crc32(bytes(header[:-4])).to_bytes(4, "little")
        data[12 : 12 + size] = header
    return bytes(data)


def test_xz_with_a_normal_dictionary_unpacks(tmp_path: Path) -> None:
    (tmp_path / "ok.tar.xz").write_bytes(_xz_tar())
    result = safe_extract(tmp_path / "ok.tar.xz", tmp_path / "out", max_bytes=100, max_files=10)
    assert result.files == 1 and (tmp_path / "out" / "a.txt").read_bytes() == b"hello xz\n"


def test_xz_declaring_a_huge_dictionary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.tar.xz").write_bytes(_xz_tar(dict_prop=38))  # 1.5 GiB dictionary
    with pytest.raises(UnsafeArchive, match="xz stream needs more than"):
        safe_extract(tmp_path / "big.tar.xz", tmp_path / "out", max_bytes=100, max_files=10)


def test_corrupt_xz_is_bad_input(tmp_path: Path) -> None:
    data = bytearray(_xz_tar())
    data[40] ^= 0xFF
    (tmp_path / "bad.tar.xz").write_bytes(bytes(data))
    with pytest.raises(InputError):
        safe_extract(tmp_path / "bad.tar.xz", tmp_path / "out", max_bytes=100, max_files=10)
