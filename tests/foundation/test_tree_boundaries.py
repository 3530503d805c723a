"""In-process boundaries of the tree check (issue 15 item 1, docs/mutants.md).

Mutation testing runs only in-process tests against mutants; each test here pins one
decision of the compare/check side of ``nebsign.tree`` at its edge: what a
difference is called and counted, which entries are read, when a manifest's bytes
are accepted as the tree's without the full parse, and the read guide's answers
for every shape of canonical manifest, with the C helpers and without.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nebsign.errors import InputError
from nebsign.manifest import FileEntry, LinkEntry, Manifest
from nebsign.tree import (
    Change,
    ManifestMismatch,
    TreeCheck,
    TreeDiff,
    build_manifest,
    diff_manifests,
    expected_sizes,
    load_and_verify_tree,
    verify_tree,
)

A = "a" * 64
B = "b" * 64


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "rel"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_bytes(b"print('hi')\n")
    (root / "app" / "run").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "app" / "run", 0o755)
    (root / "README").write_bytes(b"readme\n")
    (root / "start").symlink_to("app/main.py")
    return root


# -- differences: what they are called and counted ----------------------------------------


def test_a_diff_refusal_names_each_kind_with_its_count_and_first_entry() -> None:
    TreeDiff(checked=3).verify()
    assert TreeDiff().ok and not TreeDiff(missing=("a",)).ok
    assert not TreeDiff(extra=("a",)).ok and not TreeDiff(changed=(Change("a", "x", "y"),)).ok
    diff = TreeDiff(
        missing=("m1", "m2"),
        extra=("e1", "e2", "e3"),
        changed=(Change("c1", "x", "y"),),
    )
    with pytest.raises(ManifestMismatch) as info:
        diff.verify()
    assert info.value.message == (
        "tree does not match manifest: 1 changed (first: c1), 2 missing (first: m1), "
        "3 extra (first: e1)"
    )
    for one, text in (
        (TreeDiff(missing=("m",)), "1 missing (first: m)"),
        (TreeDiff(extra=("e",)), "1 extra (first: e)"),
        (TreeDiff(changed=(Change("c", "x", "y"),)), "1 changed (first: c)"),
    ):
        with pytest.raises(ManifestMismatch) as each:
            one.verify()
        assert each.value.message == f"tree does not match manifest: {text}"
    with pytest.raises(ManifestMismatch) as escaped:
        TreeDiff(extra=("a\nb",)).verify()
    assert "\n" not in escaped.value.message


def test_two_manifests_differ_entry_by_entry() -> None:
    expected = Manifest(
        files=(
            FileEntry("a", 1, A, False),
            FileEntry("b", 2, A, True),
            FileEntry("c", 3, A, False),
            FileEntry("gone", 1, A, False),
        ),
        symlinks=(LinkEntry("l", "a"), LinkEntry("m", "a")),
    )
    actual = Manifest(
        files=(
            FileEntry("a", 1, A, False),
            FileEntry("b", 2, A, False),
            FileEntry("c", 4, B, False),
            FileEntry("l", 1, A, False),
            FileEntry("new", 1, A, False),
        ),
        symlinks=(LinkEntry("m", "b"),),
    )
    diff = diff_manifests(expected, actual)
    assert (diff.missing, diff.extra, diff.checked) == (("gone",), ("new",), 6)
    assert diff.changed == (
        Change("b", f"file sha256:{A} (2 bytes, executable)", f"file sha256:{A} (2 bytes)"),
        Change("c", f"file sha256:{A} (3 bytes)", "file of 4 bytes (not read: the size differs)"),
        Change("l", "symlink -> a", f"file sha256:{A} (1 bytes)"),
        Change("m", "symlink -> a", "symlink -> b"),
    )
    same = diff_manifests(expected, expected)
    assert same.ok and same.checked == 6


# -- the tree: what is read, what is counted -------------------------------------------------


@pytest.mark.parametrize("pure", [False, True])
def test_a_matching_tree_is_checked_in_full(
    tree: Path, pure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pure:
        monkeypatch.setenv("NEBSIGN_PURE_PYTHON", "1")
    manifest = build_manifest(tree, name="app", version="1.2", expires="2099-01-01T00:00:00Z")
    raw = manifest.to_json()
    assert verify_tree(manifest, tree) == TreeDiff(checked=4)
    got, diff = load_and_verify_tree(raw, tree)
    assert got == manifest and diff == TreeDiff(checked=4)
    assert (got.name, got.version, got.expires) == ("app", "1.2", "2099-01-01T00:00:00Z")
    with TreeCheck(tree) as check:
        again, diff = check.compare(raw)
    assert again.to_json() == raw and diff.checked == 4
    bare = build_manifest(tree)
    got, diff = load_and_verify_tree(bare.to_json(), tree)
    assert got == bare and (got.name, got.version, got.expires) == (None, None, None)
    assert diff == TreeDiff(checked=4)


@pytest.mark.parametrize("pure", [False, True])
def test_an_extra_file_is_listed_unread_and_a_changed_one_described(
    tree: Path, pure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pure:
        monkeypatch.setenv("NEBSIGN_PURE_PYTHON", "1")
    manifest = build_manifest(tree, name="app", version="1")
    (tree / "zz-new").write_bytes(b"new")
    (tree / "README").write_bytes(b"README\n")  # same size, other bytes
    for diff in (verify_tree(manifest, tree), load_and_verify_tree(manifest.to_json(), tree)[1]):
        assert diff.extra == ("zz-new",) and diff.missing == () and diff.checked == 4
        readme = manifest.files[0]
        assert readme.path == "README"
        new_sha = build_manifest(tree).files[0].sha256
        assert diff.changed == (
            Change(
                "README",
                f"file sha256:{readme.sha256} (7 bytes)",
                f"file sha256:{new_sha} (7 bytes)",
            ),
        )


def test_a_file_where_the_manifest_names_none_is_not_read(tree: Path) -> None:
    """A file in place of a symlink the manifest names: CHANGED, and not read."""
    manifest = build_manifest(tree)
    (tree / "start").unlink()
    (tree / "start").write_bytes(b"x" * 10)
    _, diff = load_and_verify_tree(manifest.to_json(), tree)
    assert diff.changed == (
        Change(
            "start", "symlink -> app/main.py", "a file (not read: the manifest names no file here)"
        ),
    )
    assert diff.extra == () and diff.checked == 4


def test_the_manifest_is_named_when_it_is_malformed(tree: Path) -> None:
    with pytest.raises(InputError) as info:
        load_and_verify_tree(b'{"files": 1}', tree, what="pub/release.json")
    assert info.value.message.startswith("pub/release.json")
    with pytest.raises(InputError) as default:
        load_and_verify_tree(b'{"files": 1}', tree)
    assert default.value.message.startswith("manifest")


def test_bytes_that_differ_from_the_canonical_form_are_parsed_and_refused(tree: Path) -> None:
    """Metadata around a matching files array: accepted only as canonical bytes."""
    manifest = build_manifest(tree, name="app", version="1")
    raw = manifest.to_json()
    spaced = raw.replace(b'"name":"app"', b'"name": "app"')
    assert spaced != raw
    with pytest.raises(InputError, match="canonical"):
        load_and_verify_tree(spaced, tree)
    odd = json.loads(raw)
    odd["name"] = 5
    with pytest.raises(InputError):
        load_and_verify_tree(json.dumps(odd, separators=(",", ":"), sort_keys=True).encode(), tree)


# -- the read guide ------------------------------------------------------------------------------


@pytest.mark.parametrize("pure", [False, True])
def test_the_read_guide_reads_every_file_entry(monkeypatch: pytest.MonkeyPatch, pure: bool) -> None:
    if pure:
        monkeypatch.setenv("NEBSIGN_PURE_PYTHON", "1")
    manifest = Manifest(
        files=(
            FileEntry('a"b', 12, A, False),
            FileEntry("dir/\u00e9", 0, B, True),
            FileEntry("z", 10**15, A, False),
        ),
        symlinks=(LinkEntry("l", "z"),),
        name="n",
        version="1",
    )
    assert expected_sizes(manifest.to_json()) == {'a"b': 12, "dir/\u00e9": 0, "z": 10**15}
    assert expected_sizes(Manifest(files=()).to_json()) == {}
    assert (
        expected_sizes(b'{"files":[{"path":"a","sha256":"' + A.encode() + b'","size":x}]}') is None
    )


# -- the fast path, and the options handed down -----------------------------------------------


def _no_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(cls: type[Manifest], raw: bytes, what: str = "manifest") -> Manifest:
        raise AssertionError("a matching canonical manifest was parsed in full")

    monkeypatch.setattr(Manifest, "from_json", classmethod(refuse))


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"name": "app"},
        {"version": "1"},
        {"expires": "2099-01-01T00:00:00Z"},
        {"name": "app", "version": "1.0", "expires": "2099-01-01T00:00:00Z"},
    ],
)
def test_a_matching_tree_is_accepted_by_its_bytes_without_the_full_parse(
    tree: Path, meta: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented fast path: canonical bytes equal to the tree's own manifest."""
    raw = build_manifest(tree, **meta).to_json()
    _no_full_parse(monkeypatch)
    got, diff = load_and_verify_tree(raw, tree)
    assert got.to_json() == raw and diff == TreeDiff(checked=4)


def test_a_changed_tree_takes_the_full_comparison(tree: Path) -> None:
    raw = build_manifest(tree, name="app").to_json()
    (tree / "zz").write_bytes(b"")
    _, diff = load_and_verify_tree(raw, tree)
    assert diff.extra == ("zz",)


def test_a_retargeted_symlink_is_changed(tree: Path) -> None:
    manifest = build_manifest(tree)
    (tree / "start").unlink()
    (tree / "start").symlink_to("README")
    want = (Change("start", "symlink -> app/main.py", "symlink -> README"),)
    assert verify_tree(manifest, tree).changed == want
    assert load_and_verify_tree(manifest.to_json(), tree)[1].changed == want


def test_bundles_beside_files_exclusions_and_progress_are_handed_down(tree: Path) -> None:
    manifest = build_manifest(tree)
    raw = manifest.to_json()
    (tree / "README.sigstore.json").write_bytes(b"{}")
    (tree / "junk").write_bytes(b"j")  # exclude names entries of the root
    assert verify_tree(manifest, tree).extra == ("README.sigstore.json", "junk")
    assert load_and_verify_tree(raw, tree)[1].extra == ("README.sigstore.json", "junk")
    with TreeCheck(tree) as check:
        assert check.compare(raw)[1].extra == ("README.sigstore.json", "junk")
    skip = {"skip_bundles": True, "exclude": frozenset({"junk"})}
    assert verify_tree(manifest, tree, **skip).ok  # type: ignore[arg-type]
    assert load_and_verify_tree(raw, tree, **skip)[1].ok  # type: ignore[arg-type]
    with TreeCheck(tree, **skip) as check:  # type: ignore[arg-type]
        assert check.compare(raw)[1].ok
    seen: list[int] = []
    verify_tree(manifest, tree, progress=seen.append, **skip)  # type: ignore[arg-type]
    assert sum(seen) == 3
    seen.clear()
    load_and_verify_tree(raw, tree, progress=seen.append, **skip)  # type: ignore[arg-type]
    assert sum(seen) == 3


def test_bytes_the_read_guide_cannot_read_are_refused_before_the_walk(tmp_path: Path) -> None:
    """Parsed (and refused, named) first: the tree, which does not exist, is never walked."""
    junk = b'{"files":[{"path":"a","sha256":"' + A.encode() + b'","size":x}]}'
    assert expected_sizes(junk) is None
    with pytest.raises(InputError) as named:
        load_and_verify_tree(junk, tmp_path / "nowhere", what="pub/release.json")
    assert named.value.message.startswith("pub/release.json")
    with TreeCheck(tmp_path / "nowhere") as check, pytest.raises(InputError) as default:
        check.compare(junk)
    assert default.value.message.startswith("manifest")
    with TreeCheck(tmp_path) as check, pytest.raises(InputError) as late:
        check.compare(b'{"files": 1}')  # readable by the guide: refused after the walk
    assert late.value.message.startswith("manifest")
