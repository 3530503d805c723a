"""The manifest size limit of the tree check, at and one past it (docs/mutants.md).

``MAX_MANIFEST_BYTES`` (512 MiB) is a module constant that ``nebsign.tree`` and
``nebsign.manifest`` read at call time, so these tests lower it to the size of a
real manifest with ``monkeypatch`` and check the comparisons at exactly the limit
and one byte past it, which is what a mutant of ``<=`` / ``>`` changes; no 512 MiB
manifest is needed. Also: a tree that does not match is walked once, not twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nebsign import manifest as manifest_mod
from nebsign import tree as tree_mod
from nebsign._internal import walk
from nebsign.errors import InputError
from nebsign.manifest import Manifest
from nebsign.tree import TreeCheck, build_manifest, load_and_verify_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "rel"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_bytes(b"print('hi')\n")
    (root / "README").write_bytes(b"readme\n" * 100)
    return root


def _limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(tree_mod, "MAX_MANIFEST_BYTES", limit)
    monkeypatch.setattr(manifest_mod, "MAX_MANIFEST_BYTES", limit)


def _no_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(cls: type[Manifest], raw: bytes, what: str = "manifest") -> Manifest:
        raise AssertionError("a matching canonical manifest was parsed in full")

    monkeypatch.setattr(Manifest, "from_json", classmethod(refuse))


def _count_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The roots the tree check walks (``iter_tree`` counted, not replaced)."""
    walked: list[str] = []
    real_iter = walk.iter_tree

    def counting_iter(root: str, *args: object, **kw: object) -> object:
        walked.append(root)
        return real_iter(root, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tree_mod, "iter_tree", counting_iter)
    return walked


def test_a_manifest_of_exactly_the_limit_takes_the_fast_path(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = build_manifest(tree, name="app", version="1").to_json()
    _limit(monkeypatch, len(raw))
    _no_full_parse(monkeypatch)
    got, diff = load_and_verify_tree(raw, tree)
    assert got.to_json() == raw
    assert diff.ok and diff.checked == 2


def test_a_manifest_one_byte_over_the_limit_is_refused_before_the_tree_is_read(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = build_manifest(tree, name="app", version="1").to_json()
    _limit(monkeypatch, len(raw) - 1)
    hashed: list[int] = []
    walked = _count_walks(monkeypatch)
    with pytest.raises(InputError) as info:
        load_and_verify_tree(raw, tree, what="rel/manifest.json", progress=hashed.append)
    assert info.value.message == (
        f"rel/manifest.json: {len(raw)} bytes exceeds the limit of {len(raw) - 1} bytes"
    )
    assert walked == [] and hashed == []  # refused before anything was read


def test_the_limit_is_read_when_compare_runs(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same bytes pass or fail by the limit in force at the call, not at import."""
    raw = build_manifest(tree).to_json()
    with TreeCheck(tree) as check:
        _limit(monkeypatch, len(raw) - 1)
        with pytest.raises(InputError):
            check.compare(raw)
        _limit(monkeypatch, len(raw))
        assert check.compare(raw)[1].ok


def test_a_tree_that_does_not_match_is_walked_and_read_once(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = build_manifest(tree).to_json()
    (tree / "README").write_bytes(b"README\n" * 100)  # same size, other bytes
    (tree / "extra").write_bytes(b"x")
    walked = _count_walks(monkeypatch)
    _manifest, diff = load_and_verify_tree(raw, tree)
    assert not diff.ok
    assert [c.path for c in diff.changed] == ["README"]
    assert diff.extra == ("extra",) and diff.missing == ()
    assert walked == [str(tree)]
