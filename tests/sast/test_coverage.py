"""nebsign.scancoverage: does a SAST predicate cover a release's Python? (issue 18 item 6)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from helpers import run_cli
from hypothesis import given
from hypothesis import strategies as st

from nebsign.digest import sha256_bytes
from nebsign.manifest import FileEntry, LinkEntry, Manifest
from nebsign.scancoverage import sast_coverage_problems
from nebsign.tree import build_manifest

A, B = sha256_bytes(b"a"), sha256_bytes(b"b")
MAIN = b"def f():\n    return 1\n"


def _release(*files: FileEntry, links: tuple[LinkEntry, ...] = ()) -> Manifest:
    return Manifest(files=tuple(sorted(files)), symlinks=links)


def _pred(scanned: dict[str, str], not_python: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "verdict": "pass",
        "scanned": {p: f"sha256:{d}" for p, d in scanned.items()},
    }
    if not_python is not None:
        out["not_python"] = {p: f"sha256:{d}" for p, d in not_python.items()}
    return out


def test_covered_release_has_no_problems() -> None:
    release = _release(
        FileEntry("app/main.py", 1, A),
        FileEntry("app/gui.pyw", 1, A),
        FileEntry("site.pth", 1, A),
        FileEntry("bin/tool", 1, B, executable=True),
        FileEntry("bin/run.sh", 1, A, executable=True),
        FileEntry("data/readme.txt", 1, B),
        links=(LinkEntry("app/hooks.py", "../data/readme.txt"),),
    )
    scanned = {p: A for p in ("app/main.py", "app/gui.pyw", "site.pth")}
    scanned |= {"bin/tool": B, "app/hooks.py": B}
    assert sast_coverage_problems(_pred(scanned, {"bin/run.sh": A}), release) == []


def test_each_gap_is_named() -> None:
    release = _release(
        FileEntry("app/main.py", 1, A),
        FileEntry("site.pth", 1, A),
        FileEntry("bin/tool", 1, B, executable=True),
        FileEntry("data/hooks.txt", 1, B),
        links=(LinkEntry("app/hooks.py", "../data/hooks.txt"),),
    )
    problems = sast_coverage_problems(_pred({"app/main.py": B}), release)
    assert problems == [
        f"app/main.py: scanned with other content (sha256:{B})",
        "bin/tool: not scanned",
        "site.pth: not scanned",
        "app/hooks.py (link to data/hooks.txt): not scanned",
    ]


def test_a_predicate_without_scanned_files_covers_nothing() -> None:
    release = _release(FileEntry("data.txt", 1, A))
    assert sast_coverage_problems({"verdict": "pass"}, release)
    assert sast_coverage_problems({"verdict": "pass", "scanned": {"a.py": "md5:x"}}, release)
    assert sast_coverage_problems({"scanned": {}, "not_python": []}, release)


PATHS = st.lists(
    st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6})?\.(py|pyw|pth|txt|sh)", fullmatch=True),
    min_size=1,
    max_size=8,
    unique=True,
)


@given(PATHS, st.data())
def test_dropping_or_changing_any_python_file_is_a_problem(paths: list[str], data: Any) -> None:
    files = [FileEntry(p, 1, A, executable=p.endswith(".sh")) for p in paths]
    release = _release(*files)
    scanned = {f.path: A for f in files if not f.path.endswith(".txt")}
    assert sast_coverage_problems(_pred(scanned), release) == []
    python = [p for p in scanned if not p.endswith(".sh")]
    if python:
        victim = data.draw(st.sampled_from(python))
        changed = dict(scanned)
        del changed[victim]
        assert any(victim in p for p in sast_coverage_problems(_pred(changed), release))
        changed[victim] = B
        assert any(victim in p for p in sast_coverage_problems(_pred(changed), release))


def test_scan_attest_covers_every_file_python_runs(tmp_path: Path) -> None:
    """The predicate of a real scan covers the tree it scanned, scripts and links included."""
    tree = tmp_path / "payload"
    (tree / "app").mkdir(parents=True)
    (tree / "bin").mkdir()
    (tree / "app" / "main.py").write_bytes(MAIN)
    (tree / "app" / "boot.pth").write_text("/opt/lib\n")
    (tree / "app" / "notes.txt").write_text("x = 2\n")
    os.symlink("notes.txt", tree / "app" / "alias.py")
    (tree / "bin" / "tool").write_text("#!/usr/bin/env python3\nprint(1)\n")
    (tree / "bin" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    for name in ("tool", "run.sh"):
        (tree / "bin" / name).chmod(0o755)
    result = run_cli("scan", "sast", str(tree), "--no-cache", "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    predicate = json.loads(result.stdout)
    assert set(predicate["scanned"]) == {"app/main.py", "app/boot.pth", "app/alias.py", "bin/tool"}
    assert set(predicate["not_python"]) == {"bin/run.sh"}
    assert sast_coverage_problems(predicate, build_manifest(tree)) == []
    (tree / "app" / "main.py").write_text("import os\n")
    assert sast_coverage_problems(predicate, build_manifest(tree)) == [
        f"app/main.py: scanned with other content (sha256:{sha256_bytes(MAIN)})"
    ]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["scanned", "not_python", "verdict", "x"]), JSONISH))
def test_any_predicate_gives_a_list_of_problems_never_an_exception(pred: dict[str, Any]) -> None:
    release = _release(FileEntry("a.py", 1, A), FileEntry("bin/t", 1, B, executable=True))
    problems = sast_coverage_problems(pred, release)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    assert problems  # nothing in these predicates names a.py with its digest
