"""The two tree-hashing loops (C in threads, Python in processes) and the verify fast path.

The C loop (nebsign/_speedups.c, ADR 0005) must give exactly what the
pure-Python loop gives, errors included; `load_and_verify_tree`'s byte
comparison must decide exactly what the full parse and diff decide.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign._internal import hashloops, hashpool
from nebsign.digest import hash_files
from nebsign.errors import InputError
from nebsign.manifest import FileEntry, Manifest, files_json
from nebsign.tree import build_manifest, load_and_verify_tree, verify_tree

needs_c = pytest.mark.skipif(hashpool._speedups is None, reason="C loop not built here")


SIZES = [0, 1, 4096, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 2 * 2**20 + 3]


def test_c_loop_is_built_where_it_can_be() -> None:
    """A machine with a C compiler, Python and OpenSSL headers gets the C loop."""
    can_build = (
        shutil.which(sysconfig.get_config_var("CC").split()[0] or "cc") is not None
        and Path(sysconfig.get_paths()["include"], "Python.h").exists()
        and Path("/usr/include/openssl/evp.h").exists()
    )
    if not can_build:
        pytest.skip("no C toolchain or OpenSSL headers: the pure-Python loop is used")
    assert hashpool._speedups is not None, "hatch_build.py did not build nebsign._speedups"
    assert hashpool.c_loop_available()


def _awkward_dir(root: Path) -> list[str]:
    """Files of many sizes and modes, plus every kind of name that cannot be hashed."""
    names = []
    for i, size in enumerate(SIZES):
        name = f"f{i} ü\\n"
        (root / name).write_bytes(os.urandom(size))
        if i % 2:
            (root / name).chmod(0o755 if i % 4 == 1 else 0o640 | stat.S_IXOTH)
        names.append(name)
    (root / "link").symlink_to(names[1])
    (root / "sub").mkdir()
    os.mkfifo(root / "fifo")
    return [*names, "link", "sub", "fifo", "missing", "sub/../" + names[2]]


@needs_c
def test_c_and_python_loops_agree_exactly(tmp_path: Path) -> None:
    names = _awkward_dir(tmp_path)
    batch = [(str(tmp_path), names, None), (str(tmp_path / "nonexistent"), names[:2], None)]
    c_out = hashpool._hash_group_batch_c(batch, entry_type=None)
    py_out = hashpool._hash_group_batch(batch)
    assert c_out == py_out
    sizes, hexes, execs, errors, _, _ = c_out[0]
    for i, size in enumerate(SIZES):
        data = (tmp_path / names[i]).read_bytes()
        assert sizes[i] == size
        assert hexes[64 * i : 64 * i + 64] == hashlib.sha256(data).hexdigest()
        assert execs[i] == (1 if os.stat(tmp_path / names[i]).st_mode & 0o111 else 0)
    assert sorted(errors) == [len(SIZES) + k for k in range(4)]  # link, sub, fifo, missing
    assert "not a regular file" in errors[len(SIZES) + 1]
    assert "No such file" in errors[len(SIZES) + 3]
    assert sizes[-1] == SIZES[2]  # a relative name with '..' resolves like os.open's
    assert "cannot read directory" in c_out[1][3][0]


@needs_c
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.binary(max_size=5000), st.booleans()), min_size=1, max_size=12))
def test_c_loop_matches_python_loop_and_hashlib(
    tmp_path_factory: pytest.TempPathFactory, files: list[tuple[bytes, bool]]
) -> None:
    root = tmp_path_factory.mktemp("b")
    names = []
    for i, (data, executable) in enumerate(files):
        (root / f"{i}").write_bytes(data)
        (root / f"{i}").chmod(0o755 if executable else 0o644)
        names.append(f"{i}")
    c_out = hashpool._hash_group_batch_c([(str(root), names, None)], entry_type=None)
    assert c_out == hashpool._hash_group_batch([(str(root), names, None)])
    sizes, hexes, execs, *_ = c_out[0]
    assert sizes == [len(d) for d, _ in files]
    assert hexes == "".join(hashlib.sha256(d).hexdigest() for d, _ in files)
    assert list(execs) == [int(x) for _, x in files]


# Names a filesystem allows (no '/' or NUL), with everything JSON must escape.
_name_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00")
_fs_names = st.text(
    _name_chars | st.sampled_from('"\\\n\r\t\b\f\x01\x1f\x7f'), min_size=1, max_size=12
).filter(lambda n: n not in (".", "..") and len(n.encode()) < 200)


@needs_c
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.tuples(_fs_names, st.binary(max_size=300), st.booleans()), max_size=8),
    st.sampled_from(["", "a/", 'b "q"/\\/', "ü\n/x/"]),
)
def test_c_entries_and_json_equal_the_python_ones(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[tuple[str, bytes, bool]],
    prefix: str,
) -> None:
    root = tmp_path_factory.mktemp("e")
    directory = root / prefix  # the prefix is also the directory beneath the root
    directory.mkdir(parents=True, exist_ok=True)
    chosen: dict[str, tuple[bytes, bool]] = {}
    for name, data, executable in files:
        chosen.setdefault(name, (data, executable))
    for name, (data, executable) in chosen.items():
        (directory / name).write_bytes(data)
        (directory / name).chmod(0o755 if executable else 0o644)
    names = sorted(chosen)
    entries, json_bytes, errors = _speedups_mod().hash_entries(str(root), names, prefix, FileEntry)
    assert errors == {}
    assert entries == tuple(
        FileEntry(
            prefix + n, len(chosen[n][0]), hashlib.sha256(chosen[n][0]).hexdigest(), chosen[n][1]
        )
        for n in names
    )
    assert all(type(e) is FileEntry for e in entries)
    assert json_bytes == files_json(entries).encode("utf-8")


@needs_c
def test_c_entries_report_errors_and_non_utf8_names(tmp_path: Path) -> None:
    mod = _speedups_mod()
    (tmp_path / "ok").write_bytes(b"x")
    assert mod.hash_entries(str(tmp_path), ["ok", "gone"], "", FileEntry) == (
        None,
        None,
        {1: 2},  # ENOENT
    )
    bad = os.fsdecode(b"caf\xe9")
    (tmp_path / bad).write_bytes(b"y")
    entries, json_bytes, errors = mod.hash_entries(str(tmp_path), [bad], "", FileEntry)
    assert errors == {} and json_bytes is None and entries[0].path == bad
    with pytest.raises(TypeError):
        mod.hash_entries(str(tmp_path), ["ok"], "", int)


def _speedups_mod():  # type: ignore[no-untyped-def]
    from nebsign import _speedups

    return _speedups


@needs_c
def test_c_loop_refuses_embedded_nul(tmp_path: Path) -> None:
    from nebsign import _speedups

    with pytest.raises(ValueError, match="null"):
        _speedups.hash_names(str(tmp_path), ["a\x00b"])
    with pytest.raises(TypeError):
        _speedups.hash_names(str(tmp_path), [b"a"])  # type: ignore[list-item]


def _tree(root: Path) -> None:
    for d in range(3):
        (root / f"d{d}").mkdir()
        for i in range(400):
            (root / f"d{d}" / f"f{i}").write_bytes(os.urandom(i * 7))
    (root / "d1" / "f3").chmod(0o755)


def _hashlib_entries(root: Path) -> dict[str, tuple[int, str, bool]]:
    """Every file's size, SHA-256 and execute bit, by hashlib and os.walk (not nebsign)."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            data = path.read_bytes()
            mode = path.stat().st_mode
            rel = path.relative_to(root).as_posix()
            out[rel] = (len(data), hashlib.sha256(data).hexdigest(), bool(mode & 0o111))
    return out


def test_tree_results_are_right_with_either_loop(tmp_path: Path, loop: str) -> None:
    _tree(tmp_path)
    manifest = build_manifest(tmp_path)
    got = {e.path: (e.size, e.sha256.removeprefix("sha256:"), e.executable) for e in manifest.files}
    assert got == _hashlib_entries(tmp_path)
    assert [e.path for e in manifest.files] == sorted(got)
    files = [str(p) for p in sorted((tmp_path / "d2").iterdir())]
    assert hash_files(files, workers=2) == hash_files(files, workers=1)
    os.remove(tmp_path / "d2" / "f399")
    with pytest.raises(InputError, match="f399"):
        hash_files(files, workers=2)


@needs_c
def test_tree_results_do_not_depend_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C loop and the pure-Python loop give byte-identical manifests (C first, then Python)."""
    _tree(tmp_path)
    monkeypatch.delenv("NEBSIGN_PURE_PYTHON", raising=False)
    assert hashpool.c_loop_available()
    with_c = build_manifest(tmp_path).to_json()
    monkeypatch.setenv("NEBSIGN_PURE_PYTHON", "1")
    assert not hashpool.c_loop_available()
    assert build_manifest(tmp_path).to_json() == with_c


# -- the verify fast path ----------------------------------------------------


def _release(root: Path) -> bytes:
    (root / "app").mkdir()
    (root / "app" / "main.py").write_bytes(b"print('hi')\n")
    (root / "app" / "run").write_bytes(b"#!/bin/sh\n")
    (root / "app" / "run").chmod(0o755)
    (root / "z").write_bytes(b"zz")
    (root / "ln").symlink_to("app/main.py")
    return build_manifest(root, name="app", version="1.2", expires="2030-01-01T00:00:00Z").to_json()


def _slow(raw: bytes, root: Path) -> tuple[Manifest, object] | str:
    """What the full parse + entry diff decides (or its error message)."""
    try:
        manifest = Manifest.from_json(raw)
    except InputError as exc:
        return exc.message
    return manifest, verify_tree(manifest, root)


def _fast(raw: bytes, root: Path) -> tuple[Manifest, object] | str:
    try:
        return load_and_verify_tree(raw, root)
    except InputError as exc:
        return exc.message


def test_fast_path_returns_the_parsed_manifest(tmp_path: Path) -> None:
    raw = _release(tmp_path)
    manifest, diff = load_and_verify_tree(raw, tmp_path)
    assert (manifest, diff) == _slow(raw, tmp_path)
    assert diff.ok and diff.checked == 4
    assert (manifest.name, manifest.version, manifest.expires) == (
        "app",
        "1.2",
        "2030-01-01T00:00:00Z",
    )
    assert manifest.to_json() == raw


_EDITS = [
    (b'"version":"1.2"', b'"version":"1.3"'),
    (b'"version":"1.2"', b'"version":"01.2"'),
    (b'"version":"1.2"', b'"version":1.2'),
    (b',"name":"app"', b""),
    (b',"name":"app"', b',"name":"app","name":"app"'),
    (b'"expires":"2030-01-01T00:00:00Z",', b""),
    (b'"executable":true,', b""),
    (b'"size":2', b'"size":3'),
    (b',"symlinks":[{"path":"ln","target":"app/main.py"}]', b""),
    (b'"target":"app/main.py"', b'"target":"../../x"'),
    (b',"files":[', b', "files":['),
    (b"}", b"} "),
    (b'{"_type"', b'{"_type":"x","_type"'),
]


@pytest.mark.parametrize(("old", "new"), _EDITS)
def test_fast_path_agrees_with_full_parse_on_edits(tmp_path: Path, old: bytes, new: bytes) -> None:
    raw = _release(tmp_path)
    assert old in raw
    edited = raw.replace(old, new, 1)
    assert _fast(edited, tmp_path) == _slow(edited, tmp_path)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_fast_path_agrees_with_full_parse_on_mutations(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("r")
    raw = _release(root)
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, min(len(raw), start + 8)))
    insert = data.draw(st.binary(max_size=8) | st.sampled_from([b'"', b",", b"]", b"}", b"\\"]))
    mutated = raw[:start] + insert + raw[end:]
    assert _fast(mutated, root) == _slow(mutated, root)


# -- the directory listing ------------------------------------------------------


@needs_c
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(_fs_names, st.sampled_from("fdlp")), max_size=10))
def test_c_listing_equals_scandir(
    tmp_path_factory: pytest.TempPathFactory, items: list[tuple[str, str]]
) -> None:
    from nebsign._internal import walk

    root = tmp_path_factory.mktemp("l")
    for name, kind in items:
        path = root / name
        if os.path.lexists(path):
            continue
        if kind == "f":
            path.write_bytes(b"")
        elif kind == "d":
            path.mkdir()
        elif kind == "l":
            path.symlink_to("elsewhere")
        else:
            os.mkfifo(path)
    c_lists = _speedups_mod().list_dir(str(root))
    py_lists = walk._scan_dir(str(root))
    assert [sorted(x) for x in c_lists] == [sorted(x) for x in py_lists]
    assert list(c_lists[0]) == sorted(c_lists[0])  # files come sorted (UTF-8 names)


@needs_c
def test_c_listing_errors_and_non_utf8_names(tmp_path: Path) -> None:
    mod = _speedups_mod()
    with pytest.raises(FileNotFoundError):
        mod.list_dir(str(tmp_path / "missing"))
    with pytest.raises(NotADirectoryError):
        (tmp_path / "f").write_bytes(b"")
        mod.list_dir(str(tmp_path / "f"))
    for raw in (b"\xff", "\uffff".encode(), b"a"):
        (tmp_path / os.fsdecode(raw)).write_bytes(b"")
    files = mod.list_dir(str(tmp_path))[0]
    assert sorted(files) == sorted(["f", "a", os.fsdecode(b"\xff"), "\uffff"])


def test_walk_reports_special_files_and_links_either_way(tmp_path: Path, loop: str) -> None:
    from nebsign._internal.walk import walk_tree

    (tmp_path / "b").write_bytes(b"")
    (tmp_path / "a").symlink_to("b")
    listing = walk_tree(str(tmp_path))
    assert listing.links == [("a", "b")] and [f for f, _ in listing.files] == ["b"]
    os.mkfifo(tmp_path / "p")
    with pytest.raises(InputError, match=r"/p: is a FIFO; releases hold files only"):
        walk_tree(str(tmp_path))


@needs_c
def test_c_listing_of_a_large_directory(tmp_path: Path) -> None:
    """Thousands of long names: the listing's buffers grow several times."""
    from nebsign._internal import walk

    names = [f"{i:05d}-" + "n" * 200 for i in range(3000)]
    for name in names[::-1]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    files, dirs, links, others = _speedups_mod().list_dir(str(tmp_path))
    assert files == names and dirs == ["sub"] and links == others == []
    assert [sorted(x) for x in walk._scan_dir(str(tmp_path))] == [files, dirs, [], []]


def test_tree_check_raises_walk_errors_at_compare(tmp_path: Path) -> None:
    from nebsign.tree import TreeCheck

    raw = _release(tmp_path)
    os.mkfifo(tmp_path / "p")
    with TreeCheck(tmp_path) as check:  # entering does not raise
        raised = pytest.raises(InputError, match="FIFO")
        with raised:
            check.compare(raw)
    os.remove(tmp_path / "p")
    with TreeCheck(tmp_path) as check:
        manifest, diff = check.compare(raw)
    assert diff.ok and manifest.to_json() == raw


def test_switch_interval_is_restored_after_overlapping_pools(tmp_path: Path) -> None:
    import sys

    from nebsign._internal.hashpool import GroupHasher

    for i in range(600):
        (tmp_path / f"f{i}").write_bytes(b"x")
    names = [f"f{i}" for i in range(600)]
    before = sys.getswitchinterval()
    a, b = GroupHasher(workers=2), GroupHasher(workers=2)
    a.feed([(str(tmp_path), names)])
    b.feed([(str(tmp_path), names)])
    if hashpool.c_loop_available():
        assert sys.getswitchinterval() < before
    a.finish()
    a.__exit__(None, None, None)  # the first pool ends while the second still runs
    b.finish()
    b.__exit__(None, None, None)
    assert sys.getswitchinterval() == before


# -- directories are never entered through a symlink ---------------------------


def test_directory_swapped_for_a_symlink_mid_run_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loop: str
) -> None:
    """Walked, then replaced by a link to files outside: hashing must not follow it."""
    import nebsign.tree as tree_mod

    monkeypatch.setenv("NEBSIGN_JOBS", "1")  # hash after the walk, in this thread
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    for name in ("a", "b"):
        (root / "sub" / name).write_bytes(b"inside")
        (outside / name).write_bytes(b"SECRET")
    walk = tree_mod.iter_tree

    def walk_then_swap(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        yield from walk(*args, **kwargs)  # type: ignore[arg-type]
        (root / "sub").rename(tmp_path / "moved")
        (root / "sub").symlink_to(outside)

    monkeypatch.setattr(tree_mod, "iter_tree", walk_then_swap)
    with pytest.raises(InputError, match=r"cannot read directory .*sub: "):
        build_manifest(root)


def test_listing_never_enters_a_symlinked_directory(tmp_path: Path, loop: str) -> None:
    from nebsign._internal import walk

    (tmp_path / "real" / "d").mkdir(parents=True)
    (tmp_path / "real" / "d" / "f").write_bytes(b"")
    (tmp_path / "link").symlink_to("real")
    lister = walk._scan_dir if loop == "python" else _speedups_mod().list_dir
    assert lister(str(tmp_path), "real/d/")[0] == ["f"]
    assert lister(str(tmp_path / "link"), "d/")[0] == ["f"]  # the root itself may be a link
    with pytest.raises(OSError) as raised:
        lister(str(tmp_path), "link/d/")
    assert raised.value.errno in (errno.ELOOP, errno.ENOTDIR)


# -- large files: deferred by the C loop to the reader-thread ring --------------------


@needs_c
def test_large_files_are_deferred_to_the_ring_and_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nebsign.digest import _SEQUENTIAL_MAX

    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    sizes = [_SEQUENTIAL_MAX, _SEQUENTIAL_MAX + 1, 20 * 2**20 + 3, 5]
    names = [f"f{i}" for i in range(len(sizes))]
    datas = [os.urandom(n) for n in sizes]
    for i, (name, data) in enumerate(zip(names, datas, strict=True)):
        (root / "d" / name).write_bytes(data)
        (root / "d" / name).chmod(0o755 if i % 2 else 0o644)
    directory = str(root / "d")
    # The C loop leaves exactly the files over the limit to the caller.
    errnos = _speedups_mod().hash_names(directory, names, _SEQUENTIAL_MAX)[3]
    assert errnos == {1: -2, 2: -2}
    # Raw mode: identical to the Python loop, digests right.
    c_raw = hashpool._hash_group_batch_c([(directory, names, None)], entry_type=None)
    assert c_raw == hashpool._hash_group_batch([(directory, names, None)])
    assert c_raw[0][1] == "".join(hashlib.sha256(d).hexdigest() for d in datas)
    assert list(c_raw[0][2]) == [0, 1, 0, 1]
    # Entries mode: the deferred entries carry their real digests.
    c_ent = hashpool._hash_group_batch_c([(str(root), names, "d/")], entry_type=FileEntry)
    entries = c_ent[0][4]
    assert entries == tuple(
        FileEntry(f"d/{n}", len(d), hashlib.sha256(d).hexdigest(), i % 2 == 1)
        for i, (n, d) in enumerate(zip(names, datas, strict=True))
    )
    # And whole manifests agree between the loops (JSON made for the deferred piece).
    c_json = build_manifest(root).to_json()
    monkeypatch.setenv("NEBSIGN_PURE_PYTHON", "1")
    assert build_manifest(root).to_json() == c_json
    monkeypatch.delenv("NEBSIGN_PURE_PYTHON")
    manifest, diff = load_and_verify_tree(c_json, root)
    assert diff.ok and manifest.to_json() == c_json


@needs_c
def test_deferred_file_errors_name_the_file(tmp_path: Path) -> None:
    from nebsign.digest import _SEQUENTIAL_MAX

    (tmp_path / "big").write_bytes(b"\0" * (_SEQUENTIAL_MAX + 1))
    os.mkfifo(tmp_path / "fifo")
    batch = [(str(tmp_path), ["big", "fifo"], None)]
    c_out = hashpool._hash_group_batch_c(batch, entry_type=None)
    assert c_out == hashpool._hash_group_batch(batch)
    assert c_out[0][3] == {1: f"cannot hash {tmp_path}/fifo: not a regular file"}
    assert hashloops._hash_deferred(str(tmp_path), None, ["fifo", "gone"], [0, 1]) == {
        0: (-1, "00" * 32, False, f"cannot hash {tmp_path}/fifo: not a regular file"),
        1: (-1, "00" * 32, False, f"cannot read {tmp_path}/gone: No such file or directory"),
    }
