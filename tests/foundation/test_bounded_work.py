"""Issue 17.2: the work before a verdict is bounded by the manifest, not by the tree.

A 15 TiB sparse file (a few KB on disk; no key needed to put it in a
release directory) held `verify --manifest` with a wrong key for hours,
because the tree was hashed before and regardless of the signature check.
Now a failing signature reads nothing, an extra file is EXTRA and a file of
another size CHANGED without being read. Reading 15 TiB would take hours, so
"returns at all" (under a generous hang guard, no timing assertion) is the
proof that it was not read.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.keys import generate_key, private_key_pem, public_key_pem
from nebsign.manifest import FileEntry, LinkEntry, Manifest
from nebsign.tree import build_manifest, expected_sizes, load_and_verify_tree, verify_tree

HUGE = 15 * 2**40  # 15 TiB
GUARD = 120  # seconds: a hang guard for the subprocess, not a timing assertion


def _sparse(path: Path, size: int = HUGE) -> None:
    path.touch()
    try:
        os.truncate(path, size)
    except OSError as exc:  # pragma: no cover - depends on the file system
        pytest.skip(f"this file system cannot hold a {size}-byte sparse file: {exc}")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    tree = tmp_path / "rel"
    (tree / "app").mkdir(parents=True)
    (tree / "app" / "main.py").write_bytes(b"print('hi')\n")
    (tree / "app" / "data.bin").write_bytes(bytes(range(256)) * 64)
    (tree / "README").write_bytes(b"readme\n")
    return tree


def test_extra_huge_file_is_extra_unread(release: Path, loop: str) -> None:
    manifest = build_manifest(release, name="r", version="1")
    _sparse(release / "app" / "zz-huge.img")
    diff = verify_tree(manifest, release)
    assert diff.extra == ("app/zz-huge.img",) and not diff.changed and not diff.missing
    _, diff = load_and_verify_tree(manifest.to_json(), release)
    assert diff.extra == ("app/zz-huge.img",)


def test_file_of_other_size_is_changed_unread(release: Path, loop: str) -> None:
    manifest = build_manifest(release, name="r", version="1")
    _sparse(release / "app" / "data.bin")  # replaced by 15 TiB of holes
    _, diff = load_and_verify_tree(manifest.to_json(), release)
    assert [c.path for c in diff.changed] == ["app/data.bin"]
    assert "not read" in diff.changed[0].found and str(HUGE) in diff.changed[0].found
    # the same one byte shorter or longer: also not read, also CHANGED
    os.truncate(release / "app" / "data.bin", 256 * 64 + 1)
    _, diff = load_and_verify_tree(manifest.to_json(), release)
    assert [c.path for c in diff.changed] == ["app/data.bin"]


def test_a_link_replaced_by_a_file_is_changed(release: Path, loop: str) -> None:
    (release / "start").symlink_to("app/main.py")
    manifest = build_manifest(release, name="r", version="1")
    (release / "start").unlink()
    _sparse(release / "start")
    _, diff = load_and_verify_tree(manifest.to_json(), release)
    assert [c.path for c in diff.changed] == ["start"] and not diff.extra


def _keys(tmp: Path) -> tuple[Path, Path, Path]:
    right, wrong = generate_key(), generate_key()
    (tmp / "right.key").write_bytes(private_key_pem(right, None))
    (tmp / "right.pub").write_bytes(public_key_pem(right.public_key()))
    (tmp / "wrong.pub").write_bytes(public_key_pem(wrong.public_key()))
    return tmp / "right.key", tmp / "right.pub", tmp / "wrong.pub"


def _signed_release(release: Path, tmp: Path) -> tuple[Path, Path, Path]:
    key, pub, wrong = _keys(tmp)
    out = run_cli("manifest", "create", str(release), "--name", "r", "--version", "1",
                  "-o", str(release / "release.json"))  # fmt: skip
    assert out.exit_code == 0, out.stderr
    signed = run_cli("sign", str(release / "release.json"), "--key", str(key))
    assert signed.exit_code == 0, signed.stderr
    return release / "release.json", pub, wrong


def test_cli_wrong_key_with_a_15_tib_file_returns(release: Path, tmp_path: Path) -> None:
    manifest, _, wrong = _signed_release(release, tmp_path)
    _sparse(release / "app" / "huge.img")
    result = run_cli("verify", str(manifest), "--manifest", "--key", str(wrong), timeout=GUARD)
    assert_one_line_error(result, 1)
    assert "wrong key" in result.stderr
    _sparse(release / "app" / "data.bin")  # a listed file swapped too
    result = run_cli("verify", str(manifest), "--manifest", "--key", str(wrong), timeout=GUARD)
    assert_one_line_error(result, 1)


def test_cli_right_key_reports_huge_files_unread(release: Path, tmp_path: Path) -> None:
    manifest, pub, _ = _signed_release(release, tmp_path)
    _sparse(release / "app" / "huge.img")
    _sparse(release / "app" / "data.bin")
    for args in (
        ["verify", str(manifest), "--manifest", "--key", str(pub)],
        ["manifest", "verify", str(manifest), str(release)],
    ):
        result = run_cli(*args, timeout=GUARD)
        assert result.exit_code == 1, result.stderr
        assert "Traceback" not in result.stderr
        text = result.stdout + result.stderr
        assert "data.bin" in text and "huge.img" in text, text


def test_cli_matching_tree_still_verifies(release: Path, tmp_path: Path) -> None:
    manifest, pub, _ = _signed_release(release, tmp_path)
    result = run_cli("verify", str(manifest), "--manifest", "--key", str(pub))
    assert result.exit_code == 0, result.stderr
    shutil.rmtree(release / "app")
    result = run_cli("verify", str(manifest), "--manifest", "--key", str(pub))
    assert result.exit_code == 1


# ---- the read guide: C and Python scans agree with the parser ---------------------------------

_NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=12,
).filter(lambda n: n not in (".", ".."))


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(_NAME, min_size=0, max_size=12, unique=True),
    sizes=st.lists(st.integers(0, 2**53 - 1), min_size=12, max_size=12),
    links=st.lists(_NAME, max_size=3, unique=True),
)
def test_guide_matches_the_parser(names: list[str], sizes: list[int], links: list[str]) -> None:
    link_names = [f"l/{n}" for n in links]
    files = tuple(
        FileEntry(f"f/{n}", sizes[i], f"{i:064x}", bool(i % 2)) for i, n in enumerate(names)
    )
    manifest = Manifest(
        tuple(sorted(files, key=lambda e: e.path)),
        tuple(sorted((LinkEntry(p, "../f") for p in link_names), key=lambda e: e.path)),
        "n",
        "1",
        None,
    )
    raw = manifest.to_json()
    expected = {f.path: f.size for f in manifest.files}
    assert expected_sizes(raw) == expected
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEBSIGN_PURE_PYTHON", "1")
        assert expected_sizes(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_guide_never_crashes_on_junk(raw: bytes) -> None:
    junk = b'{"files":[{"path":"' + raw
    for data in (raw, junk):
        result = expected_sizes(data)
        assert result is None or isinstance(result, dict)
