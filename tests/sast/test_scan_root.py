"""Which root and paths `scan sast PATH...` scans: a decision of the library, not the CLI."""

from __future__ import annotations

from pathlib import Path

from nebsign.sast.scan import scan_root


def test_one_directory_outside_the_current_one_is_the_root(tmp_path: Path) -> None:
    cwd, other = tmp_path / "here", tmp_path / "other"
    cwd.mkdir()
    other.mkdir()
    assert scan_root((other,), None, staged=False, cwd=cwd) == (other, ())


def test_paths_inside_are_made_absolute_below_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    got = scan_root((Path("src"), Path("a.py")), None, staged=False, cwd=tmp_path)
    assert got == (tmp_path, (tmp_path / "src", tmp_path / "a.py"))


def test_an_explicit_root_keeps_an_outside_directory_as_a_path(tmp_path: Path) -> None:
    cwd, other = tmp_path / "here", tmp_path / "other"
    cwd.mkdir()
    other.mkdir()
    assert scan_root((other,), tmp_path, staged=False, cwd=cwd) == (tmp_path, (other,))


def test_staged_paths_stay_as_git_names_them(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    got = scan_root((Path("a.py"), other), None, staged=True, cwd=tmp_path / "x")
    assert got == (tmp_path / "x", (Path("a.py"), other))
