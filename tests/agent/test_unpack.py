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


def _check_extracted(dest: Path, max_bytes: int, max_files: int) -> None:
    """What an accepted archive left behind: inside *dest*, within the limits, no specials."""
    real = os.path.realpath(dest)
    files = total = 0
    for dirpath, dirs, names in os.walk(dest):
        for name in dirs + names:
            path = os.path.join(dirpath, name)
            st_ = os.lstat(path)
            assert (
                stat.S_ISREG(st_.st_mode) or stat.S_ISDIR(st_.st_mode) or stat.S_ISLNK(st_.st_mode)
            ), f"special file {path}"
            assert not st_.st_mode & (stat.S_ISUID | stat.S_ISGID), f"set-id bit on {path}"
            if stat.S_ISLNK(st_.st_mode):  # a link resolves inside the target, or dangles there
                target = os.path.realpath(path)
                assert target == real or target.startswith(real + os.sep), (path, target)
            elif stat.S_ISREG(st_.st_mode):
                files += 1
                total += st_.st_size
    assert files <= max_files and total <= max_bytes


def _good_archives() -> list[tuple[bytes, str]]:
    members = [_info("app/", tarfile.DIRTYPE), _info("app/run", mode=0o755), _info("app/l.py")]
    data = {"app/run": b"#!/bin/sh\n", "app/l.py": b"x = 1\n" * 20}
    tar_gz = _tar([*members, _info("app/ln", tarfile.SYMTYPE, "l.py")], data)
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for info in members:
            content = data.get(info.name)
            if content is not None:
                info.size = len(content)
            tf.addfile(info, io.BytesIO(content) if content is not None else None)
    entries = [("app/run", b"#!/bin/sh\n", stat.S_IFREG | 0o755), ("app/l.py", b"x", 0o100644)]
    return [(tar_gz, ".tar.gz"), (plain.getvalue(), ".tar"), (_zip(entries), ".zip")]


GOOD_ARCHIVES = _good_archives()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.sampled_from(range(len(GOOD_ARCHIVES))),
    garbage=st.binary(max_size=2048),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=4),
    use_garbage=st.booleans(),
    suffix=st.sampled_from([".tar", ".tar.gz", ".zip", None]),
)
def test_garbage_archives_are_input_errors(
    tmp_path: Path,
    base: int,
    garbage: bytes,
    flips: list[tuple[int, int]],
    use_garbage: bool,
    suffix: str | None,
) -> None:
    """Random bytes and byte-flipped good archives: refused with exit 1 or 2, or what was
    extracted stays inside the target and within the limits (never an escape, a set-id
    bit, a device, a crash)."""
    blob, own_suffix = GOOD_ARCHIVES[base]
    if use_garbage:
        blob = garbage
    else:
        data = bytearray(blob)
        for pos, mask in flips:
            data[pos % len(data)] ^= mask
        blob = bytes(data)
    suffix = suffix or own_suffix
    sub = tmp_path / f"g{abs(hash((blob, suffix)))}"
    sub.mkdir(exist_ok=True)
    import shutil

    shutil.rmtree(sub / "out", ignore_errors=True)
    limit_bytes, limit_files = 100_000, 50
    try:
        dest = _extract(sub, blob, suffix, max_bytes=limit_bytes, max_files=limit_files)
    except (InputError, UnsafeArchive) as exc:
        assert exc.exit_code in (1, 2)
        return
    _check_extracted(dest, limit_bytes, limit_files)


def test_unmodified_good_archives_extract_fully(tmp_path: Path) -> None:
    """The fuzz above starts from archives that really extract (its accepted side is real)."""
    for i, (blob, suffix) in enumerate(GOOD_ARCHIVES):
        sub = tmp_path / str(i)
        sub.mkdir()
        dest = _extract(sub, blob, suffix)
        assert (dest / "app" / "run").read_bytes() == b"#!/bin/sh\n"
        _check_extracted(dest, BIG, 1000)


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
