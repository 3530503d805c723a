"""Safe unpacking of tar and zip archives, and archive attacks in a release."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from agentkit import ReleaseKit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign._internal.unpack import UnsafeArchive, safe_extract
from nebsign.agent.install import install_release
from nebsign.errors import InputError, NebsignError

BIG = 10**9


def _tar(members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tf:
        for info in members:
            content = (data or {}).get(info.name)
            if content is not None:
                info.size = len(content)
                tf.addfile(info, io.BytesIO(content))
            else:
                tf.addfile(info)
    return buf.getvalue()


def _info(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    return info


def _extract(tmp_path: Path, blob: bytes, suffix: str = ".tar.gz", **kw: int) -> Path:
    archive = tmp_path / f"a{suffix}"
    archive.write_bytes(blob)
    dest = tmp_path / "out"
    safe_extract(
        archive, dest, max_bytes=kw.get("max_bytes", BIG), max_files=kw.get("max_files", 1000)
    )
    return dest


def test_good_tar(tmp_path: Path) -> None:
    blob = _tar(
        [
            _info("./app/", tarfile.DIRTYPE),
            _info("./app/run", mode=0o4755),
            _info("./app/lib.py"),
            _info("./app/link", tarfile.SYMTYPE, "lib.py"),
            _info("./app/hard", tarfile.LNKTYPE, "./app/lib.py"),
        ],
        {"./app/run": b"#!/bin/sh\n", "./app/lib.py": b"x = 1\n"},
    )
    out = _extract(tmp_path, blob)
    assert (out / "app" / "lib.py").read_bytes() == b"x = 1\n"
    assert os.readlink(out / "app" / "link") == "lib.py"
    mode = stat.S_IMODE((out / "app" / "run").stat().st_mode)
    assert mode == 0o755  # set-uid dropped
    assert (out / "app" / "hard").read_bytes() == b"x = 1\n"


@pytest.mark.parametrize(
    ("members", "data", "match"),
    [
        ([_info("../evil")], {"../evil": b"x"}, "escapes"),
        ([_info("a/../../evil")], {"a/../../evil": b"x"}, "escapes"),
        ([_info("/etc/evil")], {"/etc/evil": b"x"}, "absolute"),
        ([_info("l", tarfile.SYMTYPE, "/etc")], None, "leaves the target"),
        ([_info("l", tarfile.SYMTYPE, "../../etc")], None, "leaves the target"),
        (
            [_info("l", tarfile.SYMTYPE, "sub"), _info("l/x")],
            {"l/x": b"through the link"},
            "below the symlink",
        ),
        ([_info("h", tarfile.LNKTYPE, "/etc/passwd")], None, "hard link"),
        ([_info("dev", tarfile.CHRTYPE)], None, "device"),
        ([_info("dev", tarfile.BLKTYPE)], None, "device"),
        ([_info("fifo", tarfile.FIFOTYPE)], None, "FIFO"),
        ([_info("a"), _info("a")], {"a": b"1"}, "duplicate"),
    ],
)
def test_tar_attacks_refused(
    tmp_path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None, match: str
) -> None:
    with pytest.raises(UnsafeArchive, match=match):
        _extract(tmp_path, _tar(members, data))
    assert not (tmp_path / "evil").exists()


def test_tar_limits(tmp_path: Path) -> None:
    blob = _tar([_info(f"f{i}") for i in range(5)], {f"f{i}": b"x" * 100 for i in range(5)})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(UnsafeArchive, match="more than 3 members"):
        _extract(tmp_path / "a", blob, max_files=3)
    with pytest.raises(UnsafeArchive, match="exceeds the limit"):
        _extract(tmp_path / "b", blob, max_bytes=250)


def _zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def test_good_zip(tmp_path: Path) -> None:
    blob = _zip([("a/b.txt", b"hi", stat.S_IFREG | 0o644), ("a/l", b"b.txt", stat.S_IFLNK | 0o777)])
    out = _extract(tmp_path, blob, ".zip")
    assert (out / "a" / "b.txt").read_bytes() == b"hi"
    assert os.readlink(out / "a" / "l") == "b.txt"


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([("../evil", b"x", stat.S_IFREG | 0o644)], "escapes"),
        ([("/abs", b"x", stat.S_IFREG | 0o644)], "absolute"),
        ([("l", b"../../etc/passwd", stat.S_IFLNK | 0o777)], "leaves the target"),
        ([("d", b"", stat.S_IFCHR | 0o644)], "device"),
    ],
)
def test_zip_attacks_refused(
    tmp_path: Path, entries: list[tuple[str, bytes, int]], match: str
) -> None:
    with pytest.raises(UnsafeArchive, match=match):
        _extract(tmp_path, _zip(entries), ".zip")


def test_zip_bomb_stops_at_limit(tmp_path: Path) -> None:
    blob = _zip([("bomb", b"\0" * 5_000_000, stat.S_IFREG | 0o644)])
    assert len(blob) < 50_000
    with pytest.raises(UnsafeArchive, match="exceeds the limit"):
        _extract(tmp_path, blob, ".zip", max_bytes=1_000_000)
    assert (tmp_path / "out" / "bomb").stat().st_size <= 1_000_000 + 1024 * 1024


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.binary(max_size=2048), suffix=st.sampled_from([".tar", ".tar.gz", ".zip"]))
def test_garbage_archives_are_input_errors(tmp_path: Path, blob: bytes, suffix: str) -> None:
    sub = tmp_path / f"g{abs(hash((blob, suffix)))}"
    sub.mkdir(exist_ok=True)
    import shutil

    shutil.rmtree(sub / "out", ignore_errors=True)
    try:
        _extract(sub, blob, suffix)
    except (InputError, UnsafeArchive) as exc:
        assert exc.exit_code in (1, 2)


@pytest.mark.parametrize(
    ("members", "data"),
    [
        ([_info("../evil")], {"../evil": b"x"}),
        ([_info("/etc/evil")], {"/etc/evil": b"x"}),
        ([_info("l", tarfile.SYMTYPE, "../../../etc")], None),
    ],
)
def test_release_with_unsafe_archive_refused(
    kit: ReleaseKit, members: list[tarfile.TarInfo], data: dict[str, bytes] | None
) -> None:
    kit.extra_policy = "[unpack]\nenabled = true\n"
    kit.write_policy()
    rel = kit.build("1.0.0", {"dist/app.tar.gz": _tar(members, data)})
    with pytest.raises(NebsignError) as info:
        install_release(kit.policy(), str(rel))
    assert info.value.exit_code == 1
    assert "refused" in info.value.message
    last = kit.log_events()[-1]
    assert last["event"] == "refused" and last["reason"] == "unsafe-archive"
    assert not (kit.root / "current").exists()
    assert not list((kit.root / "releases").iterdir())
