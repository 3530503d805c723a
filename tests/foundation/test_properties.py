"""Property tests: parsers of untrusted input never crash, never let a path escape."""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebsign._internal.canonical import canonical_json_simple
from nebsign._internal.safepath import check_link_target, check_relpath, check_relpaths
from nebsign._internal.walk import iter_tree
from nebsign.checksums import format_line, parse_checksums
from nebsign.cli import run
from nebsign.digest import TooLarge, hash_files, sha256_file, sha256_stream
from nebsign.errors import InputError
from nebsign.manifest import MANIFEST_TYPE, FileEntry, LinkEntry, Manifest
from nebsign.tree import build_manifest
from nebsign.versioning import ReleaseVersion

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

path_chars = st.sampled_from(["a", "b", ".", "..", "/", "\\", "\n", " ", "ü", "\x00", "-"])
paths = st.lists(path_chars, min_size=0, max_size=12).map("".join)
hexes = st.text("0123456789abcdefABCDEF", min_size=0, max_size=66)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.text(max_size=10), hexes
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "path": st.one_of(paths, json_scalars),
        "sha256": st.one_of(hexes, json_scalars),
        "size": st.one_of(st.integers(-5, 2**40), json_scalars),
        "target": st.one_of(paths, json_scalars),
        "extra": json_scalars,
    },
)
manifest_docs = st.fixed_dictionaries(
    {},
    optional={
        "_type": st.one_of(st.just(MANIFEST_TYPE), json_scalars),
        "files": st.one_of(st.lists(entries, max_size=4), json_scalars),
        "symlinks": st.one_of(st.lists(entries, max_size=3), json_scalars),
        "name": st.one_of(st.text(max_size=8), json_scalars),
        "version": st.one_of(st.sampled_from(["1", "1.2.3", "1.0-rc.1", "01", "x"]), json_scalars),
        "expires": st.one_of(st.just("2027-01-01T00:00:00Z"), json_scalars),
        "bogus": json_scalars,
    },
)


def _inside(root: str, rel: str) -> bool:
    joined = posixpath.normpath(posixpath.join(root, rel))
    return joined == root or joined.startswith(root + "/")


@SETTINGS
@given(paths)
def test_accepted_paths_never_escape_the_root(path: str) -> None:
    try:
        check_relpath(path)
    except InputError:
        return
    assert _inside("/root", path)
    assert not path.startswith("/")
    assert ".." not in path.split("/")


@SETTINGS
@given(paths, paths)
def test_accepted_link_targets_stay_inside(link: str, target: str) -> None:
    try:
        check_link_target(link, target)
    except InputError:
        return
    # Resolve from the link's directory as the kernel would (every other link obeys the same
    # rule, so '..' only ever appears as a leading climb).
    assert _inside("/root", posixpath.join(posixpath.dirname(link), target))


@SETTINGS
@given(manifest_docs)
def test_manifest_parser_accepts_valid_or_raises_input_error(doc: dict[str, object]) -> None:
    raw = canonical_json_simple(doc)
    try:
        manifest = Manifest.from_json(raw)
    except InputError:
        return
    # Whatever parsed is internally consistent and round-trips byte-exactly.
    assert Manifest.from_json(manifest.to_json()) == manifest
    for entry in (*manifest.files, *manifest.symlinks):
        assert _inside("/root", entry.path)


@SETTINGS
@given(st.binary(max_size=300))
def test_manifest_parser_on_arbitrary_bytes(raw: bytes) -> None:
    try:
        manifest = Manifest.from_json(raw)
    except InputError as exc:
        assert exc.exit_code == 2
        assert exc.diagnostics().startswith("manifest: ")
        return
    assert Manifest.from_json(manifest.to_json()) == manifest


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(manifest_docs.map(lambda d: json.dumps(d).encode()), st.binary(max_size=100)))
def test_cli_manifest_verify_never_tracebacks(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    tmp = tmp_path_factory.mktemp("m")
    (tmp / "m.json").write_bytes(raw)
    code = run(["manifest", "verify", "-q", str(tmp / "m.json"), str(tmp)])
    assert code in (0, 1, 2)


@SETTINGS
@given(st.binary(max_size=400))
def test_checksum_parser_never_crashes(raw: bytes) -> None:
    try:
        lines = parse_checksums(raw)
    except InputError:
        return
    assert lines
    for line in lines:
        assert len(line.sha256) == 64


@SETTINGS
@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"\x00" not in b))
def test_checksum_format_parse_roundtrip(name: bytes) -> None:
    digest = hashlib.sha256(name).hexdigest()
    (parsed,) = parse_checksums(format_line(digest, name))
    assert parsed.name == name
    assert parsed.sha256 == digest


versions = st.builds(
    lambda rel, pre, build: rel + (f"-{pre}" if pre else "") + (f"+{build}" if build else ""),
    st.lists(st.integers(0, 20), min_size=1, max_size=4).map(lambda x: ".".join(map(str, x))),
    st.one_of(st.none(), st.sampled_from(["rc.1", "rc.2", "alpha", "alpha.1", "beta.11", "1"])),
    st.one_of(st.none(), st.sampled_from(["b5", "sha.abc"])),
)


@SETTINGS
@given(versions, versions, versions)
def test_version_order_is_total_and_transitive(a: str, b: str, c: str) -> None:
    va, vb, vc = (ReleaseVersion.parse(x) for x in (a, b, c))
    assert sum([va < vb, va == vb, vb < va]) == 1
    if va < vb and vb < vc:
        assert va < vc
    if va == vb:
        assert hash(va) == hash(vb)


def test_version_examples() -> None:
    order = [
        "0.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2",
        "1.10",
    ]
    parsed = [ReleaseVersion.parse(v) for v in order]
    assert parsed == sorted(parsed)
    assert ReleaseVersion.parse("1.2") == ReleaseVersion.parse("1.2.0+build.7")
    for bad in ["", "v1", "1..2", "01.2", "1.2-", "1.2-01", "1.2+", "1 2", "x" * 200]:
        with pytest.raises(InputError):
            ReleaseVersion.parse(bad)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 3 * 1024 * 1024))
def test_every_size_hashes_like_hashlib(
    tmp_path_factory: pytest.TempPathFactory, size: int
) -> None:
    data = os.urandom(size)
    path = tmp_path_factory.mktemp("d") / "f"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(path).sha256 == expected
    assert sha256_stream(io.BytesIO(data)).sha256 == expected


@pytest.mark.parametrize(
    "size", [0, 1, 256 * 1024, 256 * 1024 + 1, 16 * 2**20, 16 * 2**20 + 1, 37 * 2**20 + 3]
)
def test_size_thresholds(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    d = sha256_file(tmp_path / "f")
    assert (d.size, d.sha256) == (size, hashlib.sha256(data).hexdigest())


def test_parallel_equals_sequential(tmp_path: Path) -> None:
    files = []
    for i in range(600):
        p = tmp_path / f"f{i}"
        p.write_bytes(os.urandom(i * 13))
        files.append(str(p))
    seq = hash_files(files, workers=1)
    par = hash_files(files, workers=2)
    assert seq == par
    assert [d.sha256 for d in seq] == [
        hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files
    ]


def test_parallel_error_names_the_file(tmp_path: Path) -> None:
    files = [str(tmp_path / f"f{i}") for i in range(400)]
    for f in files[:-1]:
        Path(f).write_bytes(b"x")
    with pytest.raises(InputError, match="f399"):
        hash_files(files, workers=2)


def test_stream_sink_gets_every_byte_and_limit_stops_it(tmp_path: Path) -> None:
    data = os.urandom(9 * 2**20 + 7)
    copied = bytearray()
    d = sha256_stream(io.BytesIO(data), sink=copied.extend)
    assert d.sha256 == hashlib.sha256(data).hexdigest()
    assert bytes(copied) == data
    copied.clear()
    with pytest.raises(TooLarge):
        sha256_stream(io.BytesIO(data), sink=copied.extend, limit=5 * 2**20)
    assert len(copied) <= 5 * 2**20


names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=6,
).filter(lambda n: n not in (".", ".."))


@SETTINGS
@given(
    st.lists(st.lists(names, min_size=1, max_size=3).map("/".join), max_size=8, unique=True),
    st.one_of(st.none(), names),
)
def test_direct_json_equals_rfc8785(paths: list[str], target: str | None) -> None:
    import rfc8785

    directories = {p.rpartition("/")[0] for p in paths}
    paths = sorted(
        p for p in paths if p not in directories and not any(q.startswith(p + "/") for q in paths)
    )
    files = tuple(FileEntry(p, i * 977, f"{i:064x}", i % 2 == 1) for i, p in enumerate(paths))
    links: tuple[LinkEntry, ...] = ()
    if target is not None and "zz-link" not in paths:
        links = (LinkEntry("zz-link", target),)
    try:
        manifest = Manifest(files, links, "app", "1.0", "2027-01-01T00:00:00Z")
    except InputError:
        return
    raw = manifest.to_json()
    assert raw == rfc8785.dumps(manifest.to_dict())
    assert raw == canonical_json_simple(manifest.to_dict())
    assert Manifest.from_json(raw) == manifest


@SETTINGS
@given(st.lists(paths, max_size=6))
def test_bulk_path_check_agrees_with_single(items: list[str]) -> None:
    single_ok = True
    for p in items:
        try:
            check_relpath(p)
        except InputError:
            single_ok = False
    try:
        check_relpaths(items)
        bulk_ok = True
    except InputError:
        bulk_ok = False
    assert bulk_ok == single_ok


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "a.b", "a-", "b", "a0", "é", "A", "~"]), min_size=1, max_size=3
        ),
        min_size=1,
        max_size=12,
    )
)
def test_walk_yields_paths_in_sorted_order(
    tmp_path_factory: pytest.TempPathFactory, parts: list[list[str]]
) -> None:
    root = tmp_path_factory.mktemp("walk")
    for comps in parts:
        path = root.joinpath(*comps)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_bytes(b"")
        except (FileExistsError, NotADirectoryError):
            continue
    walked = [run.prefix + name for run in iter_tree(str(root)) for name in run.files]
    assert walked == sorted(walked)
    expected = sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )
    assert walked == expected
    # A manifest built from the walk (checked by construction) passes the full validation.
    (root / "zz-link").symlink_to(parts[0][0])
    built = build_manifest(root, name="t", version="1")
    assert Manifest.from_json(built.to_json()) == built


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.sampled_from(["a", "b", "a/x", "a/y", "a/b/z", "/a", "a/", "./a", "a//x", "", "b/x"]),
        max_size=5,
    )
)
def test_exclude_leaves_out_exactly_the_paths_named(
    tmp_path_factory: pytest.TempPathFactory, exclude: list[str]
) -> None:
    root = tmp_path_factory.mktemp("x")
    for rel in ["a/x", "a/y", "a/b/z", "b", "c"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    everything = [run.prefix + n for run in iter_tree(str(root)) for n in run.files]
    walked = [run.prefix + n for run in iter_tree(str(root), frozenset(exclude)) for n in run.files]
    # An excluded directory takes its files with it; other paths name nothing.
    gone = {p for p in everything if any(p == e or p.startswith(e + "/") for e in exclude if e)}
    assert walked == [p for p in everything if p not in gone]
