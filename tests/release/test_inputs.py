"""The release's own inputs: SOURCE_DATE_EPOCH (property-tested) and what BUILD_DIR may hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import assert_one_line_error
from hypothesis import given
from hypothesis import strategies as st
from releasekit import release

from nebsign.errors import InputError
from nebsign.release.pipeline import MAX_EPOCH, clock, expires_after, parse_source_date_epoch


@given(st.text(max_size=30))
def test_source_date_epoch_is_seconds_or_input_error(text: str) -> None:
    try:
        value = parse_source_date_epoch(text)
    except InputError as exc:
        assert "SOURCE_DATE_EPOCH" in exc.message
        assert not (
            text.isascii() and text.isdigit() and len(text) <= 12 and int(text) <= MAX_EPOCH
        )
        return
    assert value == int(text) and 0 <= value <= MAX_EPOCH
    assert clock(value).timestamp() == value  # no time zone or rounding surprise


@given(st.integers(min_value=0, max_value=MAX_EPOCH))
def test_every_valid_epoch_round_trips(value: int) -> None:
    assert parse_source_date_epoch(str(value)) == value
    assert expires_after(clock(value), 30).endswith("Z")


def test_unset_means_the_clock() -> None:
    assert parse_source_date_epoch(None) is None


def test_a_fifo_in_the_build_dir_is_refused_not_waited_on(
    tmp_path: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    os.mkfifo(example / "config" / "pipe")
    out = tmp_path / "out"
    result = release(example, example, out, keys[0], "-q")
    assert_one_line_error(result, 2)
    assert "special file" in result.stderr and "pipe" in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_a_symlink_leaving_the_build_dir_is_refused(
    tmp_path: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    (example / "bin" / "escape").symlink_to("../../../etc/passwd")
    result = release(example, example, tmp_path / "out", keys[0], "-q")
    assert_one_line_error(result, 2)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("what", ["src", "build"])
def test_a_missing_directory_is_usage(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], what: str
) -> None:
    missing = tmp_path / "missing"
    src, build = (missing, example) if what == "src" else (example, missing)
    result = release(src, build, tmp_path / "out", keys[0])
    assert_one_line_error(result, 2)
