"""Path safety at its exact boundaries, in-process (so mutation testing sees it).

Each case sits on an edge a one-character change of ``_internal/safepath.py`` would
move: the length limit, how far a link may climb, where ``..`` may stand, and the
name of the thing refused in the message.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nebsign._internal.safepath import (
    MAX_PATH_LEN,
    check_link_target,
    check_relpath,
    check_relpaths,
)
from nebsign.errors import InputError


def _refused(call: object, *args: object) -> str:
    with pytest.raises(InputError) as info:
        call(*args)  # type: ignore[operator]
    return str(info.value)


@pytest.mark.parametrize("length", [1, MAX_PATH_LEN - 1, MAX_PATH_LEN])
def test_paths_up_to_the_limit_pass_one_by_one_and_in_bulk(length: int) -> None:
    path = "a" * length
    assert check_relpath(path) == path
    check_relpaths([path, "b"])


def test_a_path_over_the_limit_is_refused_one_by_one_and_in_bulk() -> None:
    path = "a" * (MAX_PATH_LEN + 1)
    assert "longer than 4096" in _refused(check_relpath, path)
    assert "longer than 4096" in _refused(check_relpaths, ["ok", path])


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("", "path: empty path"),
        ("/etc/passwd", "path: absolute path"),
        ("a\x00b", "path: path contains a NUL byte"),
        ("a//b", "path: unsafe path"),
        ("a/", "path: unsafe path"),
        ("./a", "path: unsafe path"),
        ("a/..", "path: unsafe path"),
        ("..", "path: unsafe path"),
        ("a/\udc80", "path: path 'a/\\udc80' is not valid UTF-8"),
    ],
)
def test_each_refusal_names_the_path_kind(path: str, needle: str) -> None:
    assert _refused(check_relpath, path).startswith(needle)
    assert _refused(check_relpaths, ["fine", path]).startswith(needle)
    named = needle.replace("path:", "manifest entry:", 1)
    assert _refused(check_relpath, path, "manifest entry").startswith(named)
    assert _refused(check_relpaths, ["fine", path], "manifest entry").startswith(named)


@pytest.mark.parametrize("path", ["a", "a/b", ".hidden", "a/.b", "a/..b", "é/ü", "a\\b", "a\nb"])
def test_ordinary_names_pass(path: str) -> None:
    assert check_relpath(path) == path
    check_relpaths([path])


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("a/l", ".."),  # climbs to the root: allowed
        ("a/b/l", "../.."),
        ("a/b/l", "../../c"),
        ("l", "x"),
        ("l", "./x"),
        ("a/l", "../x/./y"),
        ("l", "x/"),
        ("a/b/l", "..//.."),  # empty components are skipped, not names
        ("a/l", "./.."),  # '.' components too
    ],
)
def test_link_targets_that_stay_inside(link: str, target: str) -> None:
    assert check_link_target(link, target) == target


@pytest.mark.parametrize(
    ("link", "target", "needle"),
    [
        ("l", "..", "symlink 'l' -> '..': target escapes the tree"),
        ("a/l", "../..", "target escapes the tree"),
        ("a/b/l", "../../..", "target escapes the tree"),
        ("l", "/etc/passwd", "absolute target leaves the tree"),
        ("a/l", "x/../y", "'..' after a name is not allowed"),
        ("a/l", "x/..", "'..' after a name is not allowed"),
        ("l", "", "symlink 'l': invalid target"),
        ("l", "a\x00b", "invalid target"),
        ("l", "a" * (MAX_PATH_LEN + 1), "invalid target"),
        ("l", "\udc80", "target is not valid UTF-8"),
    ],
)
def test_link_targets_that_are_refused(link: str, target: str, needle: str) -> None:
    assert needle in _refused(check_link_target, link, target)


def test_link_target_at_the_length_limit_is_allowed() -> None:
    target = "a" * MAX_PATH_LEN
    assert check_link_target("l", target) == target


def test_link_refusals_name_what_was_checked() -> None:
    message = _refused(check_link_target, "l", "..", "archive link")
    assert message.startswith("archive link 'l' -> '..'")
    assert _refused(check_link_target, "../l", "x").startswith("symlink: unsafe path")


_name = st.text(st.sampled_from("ab."), min_size=1, max_size=3)


@given(
    depth=st.integers(0, 4),
    ups=st.integers(0, 6),
    rest=st.lists(_name.filter(lambda n: n not in (".", "..")), max_size=3),
)
def test_climbing_is_allowed_exactly_as_far_as_the_root(
    depth: int, ups: int, rest: list[str]
) -> None:
    """A link ``d0/../d{depth-1}/l`` may climb ``depth`` levels and no more."""
    link = "/".join([*(f"d{i}" for i in range(depth)), "l"])
    target = "/".join([".."] * ups + rest) or "x"
    if ups <= depth:
        assert check_link_target(link, target) == target
    else:
        assert "escapes the tree" in _refused(check_link_target, link, target)
