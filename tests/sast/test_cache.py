"""The incremental cache: warm output byte-identical to cold; only changed files re-run."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from helpers import run_cli
from sast.sastkit import CASES, bandit, case_files, semgrep

from nebsign.sast.cache import CACHE_FILE, ResultCache
from nebsign.sast.runner import run_scan


def test_warm_json_and_sarif_are_byte_identical_to_cold(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(CASES, src)
    cache = tmp_path / "cache"
    args = ["scan", "sast", "--root", str(src), str(src), "--format", "json"]
    cold = run_cli(*args, "--no-cache", "--sarif", str(tmp_path / "cold.sarif"))
    first = run_cli(*args, "--cache", str(cache), "--sarif", str(tmp_path / "first.sarif"))
    warm = run_cli(*args, "--cache", str(cache), "--sarif", str(tmp_path / "warm.sarif"))
    assert cold.exit_code == first.exit_code == warm.exit_code == 1
    assert cold.stdout_bytes == first.stdout_bytes == warm.stdout_bytes
    sarifs = {(tmp_path / f"{n}.sarif").read_bytes() for n in ("cold", "first", "warm")}
    assert len(sarifs) == 1
    text = run_cli("scan", "sast", "--root", str(src), str(src), "--cache", str(cache))
    assert f"cache: {2 * len(case_files())} reused, 0 scanned" in text.stdout


def test_only_changed_files_are_rescanned(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(CASES, src)
    files = case_files()
    with ResultCache(tmp_path / "c") as cache:
        cold = run_scan(src, files, [bandit(), semgrep()], cache=cache)
        assert (cold.cache_hits, cold.cache_misses) == (0, 2 * len(files))
        target = src / "weak-hash.py"
        target.write_text(target.read_text() + "\nimport hashlib\nhashlib.md5(b'x')\n")
        warm = run_scan(src, files, [bandit(), semgrep()], cache=cache)
        assert (warm.cache_hits, warm.cache_misses) == (2 * len(files) - 2, 2)
    fresh = run_scan(src, files, [bandit(), semgrep()])
    assert warm.findings == fresh.findings
    assert len(warm.findings) == len(cold.findings) + 1


def test_a_result_is_never_served_for_another_path(tmp_path: Path) -> None:
    """Results depend on the path (``.pth``, scripts, path rules): the path is in the key."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(CASES / "pickle-load.py", src / "a.py")
    with ResultCache(tmp_path / "c") as cache:
        run_scan(src, ["a.py"], [semgrep()], cache=cache)
        (src / "a.py").rename(src / "b.py")
        again = run_scan(src, ["b.py"], [semgrep()], cache=cache)
        back = run_scan(src, ["b.py"], [semgrep()], cache=cache)
    assert (again.cache_hits, again.cache_misses) == (0, 1)
    assert back.cache_hits == 1
    assert {f.location.path for f in again.findings} == {"b.py"}


def test_damaged_cache_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(CASES / "yaml-unsafe-load.py", src / "y.py")
    with ResultCache(tmp_path / "c") as cache:
        outcome = run_scan(src, ["y.py"], [semgrep()], cache=cache)
    assert outcome.findings
    with sqlite3.connect(tmp_path / "c" / CACHE_FILE) as db:
        assert db.execute("SELECT count(*) FROM hits_v2").fetchone()[0] == 1


def test_tampered_cache_row_is_a_miss(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(CASES / "yaml-unsafe-load.py", src / "y.py")
    with ResultCache(tmp_path / "c") as cache:
        cold = run_scan(src, ["y.py"], [semgrep()], cache=cache)
    with sqlite3.connect(tmp_path / "c" / CACHE_FILE) as db:
        db.execute("UPDATE hits_v2 SET data = ?", (b'{"hits": [{"rule_id": 1}]}',))
    with ResultCache(tmp_path / "c") as cache:
        warm = run_scan(src, ["y.py"], [semgrep()], cache=cache)
    assert warm.cache_misses == 1 and warm.findings == cold.findings
