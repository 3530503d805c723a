"""safe_extract at its boundaries, in-process (docs/mutants.md).

Every refusal is asserted with its whole message (which member, why), every
limit at exactly the limit and one past it, and what an accepted archive left.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from test_unpack import _info, _tar, _zip

from nebsign._internal.unpack import (
    UnpackResult,
    UnsafeArchive,
    is_archive,
    safe_extract,
)
from nebsign.errors import InputError

HINT = "the archive is unsafe to unpack; nothing was installed"


def _run(tmp_path: Path, blob: bytes, suffix: str = ".tar.gz", **kw: int) -> UnpackResult:
    tmp_path.mkdir(parents=True, exist_ok=True)
    archive = tmp_path / f"a{suffix}"
    archive.write_bytes(blob)
    return safe_extract(
        archive,
        tmp_path / "out",
        max_bytes=kw.get("max_bytes", 10**9),
        max_files=kw.get("max_files", 1000),
    )


def _refused(tmp_path: Path, blob: bytes, suffix: str = ".tar.gz", **kw: int) -> str:
    with pytest.raises(UnsafeArchive) as info:
        _run(tmp_path, blob, suffix, **kw)
    assert info.value.exit_code == 1 and info.value.hint == HINT
    return info.value.message


@pytest.mark.parametrize(
    ("members", "data", "why"),
    [
        (
            [_info("../evil")],
            {"../evil": b"x"},
            "'../evil' refused: path contains '..' (escapes the target)",
        ),
        ([_info("/etc/x")], {"/etc/x": b"x"}, "'/etc/x' refused: absolute path"),
        (
            [_info("a//b")],
            {"a//b": b"x"},
            "'a//b' refused: archive member: unsafe path 'a//b' (empty, '.' or '..' component)",
        ),
        ([_info("a"), _info("a")], {"a": b"1"}, "'a' refused: duplicate member name"),
        (
            [_info("d", tarfile.DIRTYPE), _info("d")],
            None,
            "'d' refused: duplicate member name",
        ),
        (
            [_info("l", tarfile.SYMTYPE, "x"), _info("l", tarfile.DIRTYPE)],
            None,
            "'l' refused: duplicate member name",
        ),
        (
            [_info("f"), _info("f/x")],
            {"f": b"1", "f/x": b"2"},
            "'f/x' refused: lies below the file member 'f'",
        ),
        (
            [_info("d", tarfile.DIRTYPE), _info("d/l", tarfile.SYMTYPE, ".."), _info("d/l/x/y")],
            {"d/l/x/y": b"2"},
            "'d/l/x/y' refused: lies below the symlink member 'd/l'",
        ),
        (
            [_info("f"), _info("d", tarfile.DIRTYPE), _info("d/f/x")],
            {"f": b"1", "d/f/x": b"2"},
            None,
        ),
        (
            [_info("l", tarfile.SYMTYPE, "../x")],
            None,
            "'l' refused: symlink to '../x' leaves the target",
        ),
        (
            [_info("h", tarfile.LNKTYPE, "a")],
            None,
            "'h' refused: hard link to 'a', not an earlier regular member",
        ),
        (
            [_info("s", tarfile.SYMTYPE, "t"), _info("h", tarfile.LNKTYPE, "s")],
            None,
            "'h' refused: hard link to 's', not an earlier regular member",
        ),
        (
            [_info("d", tarfile.DIRTYPE), _info("h", tarfile.LNKTYPE, "d")],
            None,
            "'h' refused: hard link to 'd', not an earlier regular member",
        ),
        ([_info("c", tarfile.CHRTYPE)], None, "'c' refused: device file"),
        ([_info("b", tarfile.BLKTYPE)], None, "'b' refused: device file"),
        ([_info("p", tarfile.FIFOTYPE)], None, "'p' refused: FIFO"),
        ([_info("z", b"Z")], None, "'z' refused: unsupported member type b'Z'"),
    ],
)
def test_tar_refusal_messages(
    tmp_path: Path,
    members: list[tarfile.TarInfo],
    data: dict[str, bytes] | None,
    why: str | None,
) -> None:
    blob = _tar(members, data)
    if why is None:  # a same-named file elsewhere is no parent: accepted
        assert _run(tmp_path, blob, ".tar") == UnpackResult(2, 0, 2)
        return
    assert _refused(tmp_path, blob, ".tar") == f"archive a.tar: member {why}"


def test_member_name_in_a_refusal_is_cut_at_200_characters(tmp_path: Path) -> None:
    name = "/" + "n" * 300
    msg = _refused(tmp_path, _tar([_info(name)], {name: b"x"}), ".tar")
    assert msg == f"archive a.tar: member {name[:200]!r} refused: absolute path"
    target = "../" + "t" * 300
    msg = _refused(tmp_path / "x", _tar([_info("l", tarfile.SYMTYPE, target)]), ".tar")
    assert msg.endswith(f"symlink to {target[:200]!r} leaves the target")


def test_display_name_names_the_archive(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(_tar([_info("../x")], {"../x": b"x"}))
    with pytest.raises(UnsafeArchive) as info:
        safe_extract(archive, tmp_path / "o", max_bytes=10, max_files=10, display_name="payload/d")
    assert info.value.message.startswith("archive payload/d: member '../x' refused")


def test_names_are_normalized_and_parents_created(tmp_path: Path) -> None:
    members = [
        _info(".", tarfile.DIRTYPE),
        _info("./", tarfile.DIRTYPE),
        _info("./top/", tarfile.DIRTYPE),
        _info("./top/a/b/c.txt"),
        _info("./x./y"),
        _info("top/h", tarfile.LNKTYPE, "./top/a/b/c.txt"),
        _info("top/h2", tarfile.LNKTYPE, "top/h"),
        _info("top/l", tarfile.SYMTYPE, "a/b/c.txt"),
    ]
    out = _run(tmp_path, _tar(members, {"./top/a/b/c.txt": b"abc", "./x./y": b"y"}), ".tar")
    assert out == UnpackResult(files=4, links=1, bytes=4)
    dest = tmp_path / "out"
    assert sorted(os.listdir(dest)) == ["top", "x."]
    assert (dest / "top" / "a" / "b" / "c.txt").read_bytes() == b"abc"
    assert (dest / "x." / "y").read_bytes() == b"y"
    assert (dest / "top" / "h2").stat().st_ino == (dest / "top" / "a" / "b" / "c.txt").stat().st_ino
    assert os.readlink(dest / "top" / "l") == "a/b/c.txt"
    for d in ("top", "top/a", "top/a/b"):
        assert stat.S_ISDIR(os.lstat(dest / d).st_mode)


def test_an_implicit_parent_counts_as_a_directory_member(tmp_path: Path) -> None:
    blob = _tar([_info("a/b"), _info("a/", tarfile.DIRTYPE)], {"a/b": b"1"})
    msg = _refused(tmp_path, blob, ".tar")  # tarfile gives a directory's name without "/"
    assert msg == "archive a.tar: member 'a' refused: duplicate member name"


def test_modes_are_0644_or_0755(tmp_path: Path) -> None:
    members = [_info(f"m{oct(m)}", mode=m) for m in (0o644, 0o100, 0o010, 0o001, 0o6777, 0o600)]
    blob = _tar(members, {i.name: b"x" for i in members})
    _run(tmp_path, blob, ".tar")
    got = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()}
    assert got == {
        "m0o644": 0o644,
        "m0o100": 0o755,
        "m0o10": 0o755,
        "m0o1": 0o755,
        "m0o6777": 0o755,
        "m0o600": 0o644,
    }


@pytest.mark.parametrize("limit", [3, 4])
def test_member_count_limit_is_inclusive(tmp_path: Path, limit: int) -> None:
    members = [_info("d", tarfile.DIRTYPE), _info("d/a"), _info("d/l", tarfile.SYMTYPE, "a")]
    members.append(_info("d/h", tarfile.LNKTYPE, "d/a"))
    blob = _tar(members, {"d/a": b"12"})
    if limit == 4:
        assert _run(tmp_path, blob, ".tar", max_files=4) == UnpackResult(2, 1, 2)
    else:
        msg = _refused(tmp_path, blob, ".tar", max_files=3)
        assert msg == "archive a.tar: member 'd/h' refused: more than 3 members"


def test_byte_limit_is_inclusive_and_counted_across_members(tmp_path: Path) -> None:
    blob = _tar([_info("a"), _info("b")], {"a": b"x" * 60, "b": b"y" * 40})
    assert _run(tmp_path / "ok", blob, ".tar", max_bytes=100) == UnpackResult(2, 0, 100)
    msg = _refused(tmp_path / "over", blob, ".tar", max_bytes=99)
    assert msg == "archive a.tar: member 'b' refused: content exceeds the limit of 99 bytes"


def test_declared_size_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    blob = _tar([_info("big")], {"big": b"z" * 50})
    assert _run(tmp_path / "ok", blob, ".tar", max_bytes=50).bytes == 50
    msg = _refused(tmp_path / "over", blob, ".tar", max_bytes=49)
    assert msg == "archive a.tar: member 'big' refused: declares 50 bytes, over the limit"
    assert not (tmp_path / "over" / "out" / "big").exists()


def test_large_member_is_written_whole(tmp_path: Path) -> None:
    data = os.urandom(1024 * 1024 * 2 + 17)  # more than one read chunk
    assert _run(tmp_path, _tar([_info("big")], {"big": data})).bytes == len(data)
    assert (tmp_path / "out" / "big").read_bytes() == data


def test_destination_must_not_exist(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(_tar([_info("a")], {"a": b"1"}))
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError) as info:
        safe_extract(archive, tmp_path / "out", max_bytes=10, max_files=10)
    assert info.value.message == f"cannot create {tmp_path / 'out'}: File exists"


def test_unreadable_tar_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        _run(tmp_path, b"\x1f\x8b garbage that is not gzip", ".tar.gz")
    assert info.value.message.startswith("archive a.tar.gz: not a readable tar archive: ")


def test_is_archive() -> None:
    for name in ("a.tar", "a.tar.gz", "a.TGZ", "a.tar.bz2", "a.tar.xz", "A.ZIP", "d/x.Tar.Gz"):
        assert is_archive(name), name
    for name in ("a.gz", "a.tarx", "a.zip.sig", "tar", "a.xz"):
        assert not is_archive(name), name


# --- zip ---


def test_zip_members(tmp_path: Path) -> None:
    blob = _zip(
        [
            ("d/", b"", stat.S_IFDIR | 0o755),
            ("d/run", b"#!", stat.S_IFREG | 0o700),
            ("d/plain", b"p", 0),
            ("d/l", b"run", stat.S_IFLNK | 0o777),
        ]
    )
    assert _run(tmp_path, blob, ".zip") == UnpackResult(2, 1, 3)
    dest = tmp_path / "out" / "d"
    assert stat.S_IMODE((dest / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "plain").stat().st_mode) == 0o644
    assert os.readlink(dest / "l") == "run"


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (("c", b"", stat.S_IFCHR | 0o600), "'c' refused: device file"),
        (("b", b"", stat.S_IFBLK | 0o600), "'b' refused: device file"),
        (("p", b"", stat.S_IFIFO | 0o600), "'p' refused: FIFO"),
        (("s", b"", stat.S_IFSOCK | 0o600), "'s' refused: unsupported member type 140000"),
        (("l", b"\xff\xfe", stat.S_IFLNK | 0o777), "'l' refused: symlink target is not UTF-8"),
        (("l", b"a" * 4097, stat.S_IFLNK | 0o777), "'l' refused: symlink target too long"),
        (
            ("l", b"../up", stat.S_IFLNK | 0o777),
            "'l' refused: symlink to '../up' leaves the target",
        ),
    ],
)
def test_zip_refusal_messages(tmp_path: Path, entry: tuple[str, bytes, int], why: str) -> None:
    assert _refused(tmp_path, _zip([entry]), ".zip") == f"archive a.zip: member {why}"


def test_zip_symlink_target_at_the_read_bound_is_not_too_long(tmp_path: Path) -> None:
    # 4,096 bytes are read whole and judged as a link target (not "too long")
    target = "/".join(["d"] * 2048)[:4096].rstrip("/") + "x"
    assert len(target.encode()) <= 4096
    blob = _zip([("l", target.encode(), stat.S_IFLNK | 0o777)])
    try:
        _run(tmp_path, blob, ".zip")
    except UnsafeArchive as exc:
        assert "too long" not in exc.message
    except InputError as exc:  # the filesystem may refuse so long a link
        assert exc.message.endswith("File name too long"), exc.message


def test_encrypted_zip_member_refused(tmp_path: Path) -> None:
    blob = bytearray(_zip([("secret", b"data", stat.S_IFREG | 0o644)]))
    # set the "encrypted" general purpose flag in the local and the central header
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = blob.index(sig)
        off = at + (6 if sig == b"PK\x03\x04" else 8)
        blob[off] |= 0x1
    assert _refused(tmp_path, bytes(blob), ".zip") == (
        "archive a.zip: member 'secret' refused: encrypted member"
    )


def test_unreadable_zip_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        _run(tmp_path, b"PK\x03\x04 not really a zip", ".zip")
    assert info.value.message.startswith("archive a.zip: not a readable zip archive: ")


def test_zip_with_an_unknown_compression_method_is_bad_input(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a", b"data")
    blob = bytearray(buf.getvalue())
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = blob.index(sig)
        blob[at + off] = 99  # compression method 99 (AES), which zipfile cannot read
    with pytest.raises(InputError) as info:
        _run(tmp_path, bytes(blob), ".zip")
    assert info.value.message.startswith("archive a.zip: corrupt zip archive: ")


def test_symlink_refusal_keeps_the_link_check_as_its_cause(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchive) as info:
        _run(tmp_path, _tar([_info("l", tarfile.SYMTYPE, "../x")]), ".tar")
    cause = info.value.__cause__
    assert isinstance(cause, InputError) and cause.message.startswith("archive symlink")


def test_hard_link_target_in_a_refusal_is_cut_at_200_characters(tmp_path: Path) -> None:
    target = "t" * 300
    msg = _refused(tmp_path, _tar([_info("h", tarfile.LNKTYPE, target)]), ".tar")
    assert msg == (
        f"archive a.tar: member 'h' refused: hard link to {target[:200]!r}, "
        "not an earlier regular member"
    )


def test_a_hard_link_the_filesystem_cannot_make_is_an_io_error(tmp_path: Path) -> None:
    name = "x" * 300  # one component longer than a directory entry may be
    blob = _tar([_info("a"), _info(name, tarfile.LNKTYPE, "a")], {"a": b"1"})
    with pytest.raises(InputError) as info:
        _run(tmp_path, blob, ".tar")
    assert info.value.message == f"cannot create {tmp_path / 'out' / name}: File name too long"


def test_zip_member_with_only_the_others_execute_bit_is_executable(tmp_path: Path) -> None:
    blob = _zip([(f"m{m:o}", b"x", stat.S_IFREG | m) for m in (0o601, 0o610, 0o700, 0o640)])
    _run(tmp_path, blob, ".zip")
    got = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "out").iterdir()}
    assert got == {"m601": 0o755, "m610": 0o755, "m700": 0o755, "m640": 0o644}


# --- names the filesystem refuses, directory modes, counters ---


@pytest.mark.parametrize(
    ("members", "data", "made"),
    [
        ([_info("y" * 300)], {"y" * 300: b"1"}, "y" * 300),
        ([_info("d" * 300 + "/f")], {"d" * 300 + "/f": b"1"}, "d" * 300),
        ([_info("z" * 300, tarfile.SYMTYPE, "t")], None, "z" * 300),
    ],
    ids=["file", "parent-directory", "symlink"],
)
def test_a_name_the_filesystem_refuses_is_an_io_error(
    tmp_path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None, made: str
) -> None:
    with pytest.raises(InputError) as info:
        _run(tmp_path, _tar(members, data), ".tar")
    assert info.value.message == f"cannot create {tmp_path / 'out' / made}: File name too long"


def test_directories_are_0755_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        _run(tmp_path, _tar([_info("d", tarfile.DIRTYPE), _info("p/q/f")], {"p/q/f": b"1"}))
    finally:
        os.umask(old)
    for d in ("", "d", "p", "p/q"):
        assert stat.S_IMODE(os.lstat(tmp_path / "out" / d).st_mode) == 0o755, d


def test_links_are_counted(tmp_path: Path) -> None:
    members = [_info(f"l{i}", tarfile.SYMTYPE, "f") for i in range(3)] + [_info("f")]
    assert _run(tmp_path, _tar(members, {"f": b"12"})) == UnpackResult(1, 3, 2)


def test_a_regular_member_named_dot_slash_is_skipped(tmp_path: Path) -> None:
    members = [_info("./"), _info("a")]
    assert _run(tmp_path, _tar(members, {"a": b"1"}), ".tar") == UnpackResult(1, 0, 1)


def test_only_the_trailing_slash_of_a_zip_directory_is_dropped(tmp_path: Path) -> None:
    blob = _zip([("AX/", b"", stat.S_IFDIR | 0o755), ("AX/f", b"1", stat.S_IFREG | 0o644)])
    assert _run(tmp_path, blob, ".zip") == UnpackResult(1, 0, 1)
    assert sorted(os.listdir(tmp_path / "out")) == ["AX"]
