"""Bad input to ``nebsign release`` exits 2 with one line (and JSON with --format json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_one_line_error
from releasekit import METRICS, PASSPHRASE, release


def test_non_empty_out_is_refused_without_force(
    tmp_path: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    result = release(example, example, out, keys[0])
    assert_one_line_error(result, 2)
    assert "not empty" in result.stderr
    assert (out / "keep.txt").read_text() == "mine\n"


def test_out_inside_the_build_dir_is_refused(example: Path, keys: tuple[Path, Path]) -> None:
    result = release(example, example, example / "out", keys[0])
    assert_one_line_error(result, 2)
    assert "overlaps" in result.stderr


def test_wrong_passphrase_is_bad_input_with_json(
    tmp_path: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    result = release(
        example,
        example,
        tmp_path / "out",
        keys[0],
        "--format",
        "json",
        env={"NEBSIGN_PASSPHRASE": "Zq9-not-the-passphrase"},
    )
    assert_one_line_error(result, 2)
    report = json.loads(result.stdout)  # the CLI boundary's refusal, once
    assert report["ok"] is False and report["exit_code"] == 2
    assert report["reason"] == "wrong-passphrase"
    assert "Zq9" not in result.stdout + result.stderr  # no secret in any output


def test_malformed_metrics_exit_2_before_any_scan(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"metrics": [1, 2')
    result = release(
        example,
        example,
        tmp_path / "out",
        keys[0],
        "--canary-metrics",
        str(bad),
        cache=sast_cache,
    )
    assert_one_line_error(result, 2)  # not even a progress line: refused before the scan
    assert "bad.json" in result.stderr
    assert not (tmp_path / "out").exists()


def test_malformed_audit_file_exit_2_before_any_scan(
    tmp_path: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    bad = tmp_path / "audit.toml"
    bad.write_text('schema = "https://nebsign.dev/schemas/audit-file/v1"\nauditor = 3\n')
    result = release(example, example, tmp_path / "out", keys[0], "--audit", str(bad))
    assert_one_line_error(result, 2)
    assert "audit.toml" in result.stderr


def test_staging_current_without_baseline_is_usage(
    tmp_path: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    result = release(
        example,
        example,
        tmp_path / "out",
        keys[0],
        "--staging-current",
        str(METRICS / "staging-current-pass.json"),
    )
    assert_one_line_error(result, 2)
    assert "--staging-baseline" in result.stderr


@pytest.mark.parametrize("epoch", ["yesterday", "-5", "1e9"])
def test_bad_source_date_epoch(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], epoch: str
) -> None:
    result = release(example, example, tmp_path / "out", keys[0], env={"SOURCE_DATE_EPOCH": epoch})
    assert_one_line_error(result, 2)
    assert "SOURCE_DATE_EPOCH" in result.stderr


def test_help_has_an_example() -> None:
    from helpers import run_cli

    result = run_cli("release", "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "nebsign release src/ build/" in result.stdout


@pytest.mark.parametrize(
    ("hidden", "extra", "args"),
    [
        (["semgrep"], "scan", ()),
        (["markdown_it"], "report", ()),
        (["httpx"], "dast", ("--staging-url", "http://127.0.0.1:9/")),
        (["scipy"], "gates", ("--canary-metrics", str(METRICS / "canary-pass.om"))),
    ],
)
def test_a_missing_extra_is_exit_3_with_the_pip_line_before_any_work(
    tmp_path: Path,
    example: Path,
    keys: tuple[Path, Path],
    hidden: list[str],
    extra: str,
    args: tuple[str, ...],
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "extras"))
    from extrakit import run_without

    out = tmp_path / "out"
    argv = [
        "release",
        str(example),
        str(example),
        "-o",
        str(out),
        "--key",
        str(keys[0]),
        "--name",
        "exchange-api",
        "--version",
        "1.4.3",
        *args,
    ]
    import os

    os.environ["NEBSIGN_PASSPHRASE"] = PASSPHRASE
    try:
        result = run_without(hidden, *argv)
    finally:
        del os.environ["NEBSIGN_PASSPHRASE"]
    assert_one_line_error(result, 3)
    assert f"needs nebsign's '{extra}' extra" in result.stderr
    assert result.stderr.strip().endswith(f"(pip install 'nebsign[{extra}]')")
    assert not out.exists()
