"""`nebsign manifest create|verify`: determinism, tamper detection, path safety, bad input."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import NEBSIGN, Result, assert_one_line_error, run_cli

from nebsign.errors import InputError
from nebsign.manifest import Manifest
from nebsign.tree import build_manifest, verify_tree


def make_release(root: Path, order_seed: int = 0) -> None:
    files = {
        "dist/app.tar.gz": os.urandom(0),
        "dist/app.whl": b"wheel" * 1000,
        "config/prod.toml": b"[x]\ny = 1\n",
        "app/main.py": b"print('hi')\n",
        "app/ünï cödé.py": b"# unicode\n",
        "app/new\nline": b"nl",
        "empty": b"",
    }
    items = list(files.items())
    random.Random(order_seed).shuffle(items)
    for rel, data in items:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if rel != "dist/app.tar.gz" else b"tarball-bytes")
    (root / "bin").mkdir(exist_ok=True)
    (root / "bin" / "start").symlink_to("../app/main.py")


def create(root: Path, out: Path, *extra: str) -> bytes:
    result = run_cli("manifest", "create", str(root), "-o", str(out), "-q", *extra)
    assert result.exit_code == 0, result.stderr
    return out.read_bytes()


def test_deterministic_across_runs_and_creation_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    make_release(a, order_seed=1)
    make_release(b, order_seed=2)
    first = create(a, tmp_path / "1.json", "--name", "app", "--version", "1.2.3")
    second = create(a, tmp_path / "2.json", "--name", "app", "--version", "1.2.3")
    other = create(b, tmp_path / "3.json", "--name", "app", "--version", "1.2.3")
    assert first == second == other
    doc = json.loads(first)
    assert doc["symlinks"] == [{"path": "bin/start", "target": "../app/main.py"}]
    assert "expires" not in doc


def test_canonical_json_is_rfc8785(tmp_path: Path) -> None:
    import rfc8785

    make_release(tmp_path)
    raw = build_manifest(tmp_path, name="x", version="1").to_json()
    assert rfc8785.dumps(json.loads(raw)) == raw


def test_sha256sum_export_checks_with_coreutils(tmp_path: Path) -> None:
    make_release(tmp_path)
    result = run_cli("manifest", "create", ".", "--sha256sum", cwd=tmp_path)
    assert result.exit_code == 0
    (tmp_path / "SUMS").write_bytes(result.stdout_bytes)
    check = subprocess.run(["sha256sum", "-c", "--strict", "SUMS"], cwd=tmp_path)
    assert check.returncode == 0


def test_output_inside_tree_is_excluded(tmp_path: Path) -> None:
    make_release(tmp_path)
    create(tmp_path, tmp_path / "release.json")
    ok = run_cli("manifest", "verify", str(tmp_path / "release.json"))
    assert ok.exit_code == 0, ok.stdout + ok.stderr


TAMPERS = ["change", "add", "remove", "rename", "retarget-link", "link-to-file"]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_any_single_tamper_exits_1_and_names_it(tmp_path: Path, tamper: str) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    make_release(tree)
    manifest = tmp_path / "release.json"
    create(tree, manifest)
    expect: list[str]
    if tamper == "change":
        (tree / "app/main.py").write_bytes(b"print('owned')\n")
        expect = ["CHANGED  app/main.py"]
    elif tamper == "add":
        (tree / "app/evil.py").write_bytes(b"x")
        expect = ["EXTRA    app/evil.py"]
    elif tamper == "remove":
        (tree / "config/prod.toml").unlink()
        expect = ["MISSING  config/prod.toml"]
    elif tamper == "rename":
        (tree / "dist/app.whl").rename(tree / "dist/app2.whl")
        expect = ["MISSING  dist/app.whl", "EXTRA    dist/app2.whl"]
    elif tamper == "retarget-link":
        (tree / "bin/start").unlink()
        (tree / "bin/start").symlink_to("../config/prod.toml")
        expect = ["CHANGED  bin/start"]
    else:
        (tree / "bin/start").unlink()
        (tree / "bin/start").write_bytes(b"#!/bin/sh\n")
        expect = ["CHANGED  bin/start"]
    result = run_cli("manifest", "verify", str(manifest), str(tree))
    assert result.exit_code == 1, result.stdout + result.stderr
    for line in expect:
        assert line in result.stdout
    assert "Traceback" not in result.stderr


def test_every_difference_is_reported(tmp_path: Path) -> None:
    make_release(tmp_path)
    manifest = build_manifest(tmp_path)
    (tmp_path / "app/main.py").write_bytes(b"changed")
    (tmp_path / "dist/app.whl").write_bytes(b"changed too")
    (tmp_path / "empty").unlink()
    (tmp_path / "x").write_bytes(b"")
    diff = verify_tree(manifest, tmp_path)
    assert [c.path for c in diff.changed] == ["app/main.py", "dist/app.whl"]
    assert diff.missing == ("empty",)
    assert diff.extra == ("x",)


def test_json_verify_output(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    make_release(tree)
    create(tree, tmp_path / "m.json")
    (tree / "empty").unlink()
    result = run_cli("manifest", "verify", str(tmp_path / "m.json"), str(tree), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert doc["missing"] == ["empty"]


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "a/../../..", "sub/../.."])
def test_symlink_escaping_the_tree_is_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "link").symlink_to(target)
    result = run_cli("manifest", "create", str(tmp_path))
    assert_one_line_error(result, 2)
    assert "link" in result.stderr


def test_symlinked_directory_is_recorded_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "sub").mkdir()
    (tree / "sub" / "real").write_bytes(b"r")
    (tree / "alias").symlink_to("sub")
    manifest = build_manifest(tree)
    assert [f.path for f in manifest.files] == ["sub/real"]
    assert [(s.path, s.target) for s in manifest.symlinks] == [("alias", "sub")]


def test_special_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    result = run_cli("manifest", "create", str(tmp_path))
    assert_one_line_error(result, 2)
    assert "FIFO" in result.stderr


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    """An unreadable file is bad input. Root reads everything, so as root (CI) the
    command runs with the capabilities that let root ignore file modes dropped
    (``setpriv``, util-linux), and the mode-000 file is really unreadable to it."""
    (tmp_path / "ok").write_bytes(b"ok")
    (tmp_path / "x").write_bytes(b"x")
    os.chmod(tmp_path / "x", 0)
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file-mode override"
        proc = subprocess.run(
            [
                setpriv,
                "--bounding-set",
                "-dac_override,-dac_read_search",
                *NEBSIGN,
                "manifest",
                "create",
                str(tmp_path),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), proc.stdout)
    else:
        result = run_cli("manifest", "create", str(tmp_path))
    assert_one_line_error(result, 2)
    assert "x" in result.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"_type": "https://nebsign.dev/manifest/v1"}', "'files'"),
        (b'{"_type": "other", "files": []}', "_type"),
        (
            b'{"_type": "https://nebsign.dev/manifest/v1", "files": [{"path": "../x", '
            b'"sha256": "' + b"0" * 64 + b'", "size": 1}]}',
            "unsafe path",
        ),
        (
            b'{"_type": "https://nebsign.dev/manifest/v1", "files": [{"path": "/etc/x", '
            b'"sha256": "' + b"0" * 64 + b'", "size": 1}]}',
            "absolute",
        ),
        (
            b'{"_type": "https://nebsign.dev/manifest/v1", "files": [], "version": "v1"}',
            "version",
        ),
        (b"\xff\xfe", "UTF-8"),
        (b'{"a": 1, "a": 2}', "unknown field"),
        (
            b'{"_type":"https://nebsign.dev/manifest/v1","files":[],"files":[]}',
            "duplicate keys",
        ),
        (b'{"_type": "https://nebsign.dev/manifest/v1", "files": []}', "canonical"),
        (b'{"_type":"https://nebsign.dev/manifest/v1","files":[]}\n', "canonical"),
    ],
)
def test_malformed_manifest_exits_2(tmp_path: Path, content: bytes, needle: str) -> None:
    (tmp_path / "m.json").write_bytes(content)
    result = run_cli("manifest", "verify", str(tmp_path / "m.json"), str(tmp_path))
    assert_one_line_error(result, 2)
    assert needle in result.stderr
    assert "m.json" in result.stderr


def test_missing_or_unreadable_manifest_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("manifest", "verify", str(tmp_path / "nope.json")), 2)
    (tmp_path / "dir.json").mkdir()
    assert_one_line_error(run_cli("manifest", "verify", str(tmp_path / "dir.json")), 2)
    (tmp_path / "file").write_bytes(b"")
    assert_one_line_error(run_cli("manifest", "verify", str(tmp_path / "file" / "x.json")), 2)


def test_version_and_expiry_validated_at_create(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    assert_one_line_error(run_cli("manifest", "create", str(tmp_path), "--version", "1.0.x"), 2)
    assert_one_line_error(run_cli("manifest", "create", str(tmp_path), "--expires", "tomorrow"), 2)
    ok = run_cli("manifest", "create", str(tmp_path), "--expires", "2027-01-31T00:00:00Z")
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["expires"] == "2027-01-31T00:00:00Z"


def test_roundtrip_and_expiry(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    make_release(tmp_path)
    m = build_manifest(tmp_path, name="app", version="2.0.0-rc.1", expires="2027-01-01T00:00:00Z")
    again = Manifest.from_json(m.to_json())
    assert again == m
    assert again.digest() == m.digest()
    assert not m.is_expired(datetime(2026, 12, 31, tzinfo=UTC))
    assert m.is_expired(datetime(2027, 1, 1, tzinfo=UTC))


def test_unsorted_or_duplicate_entries_are_refused() -> None:
    entry = {"path": "b", "sha256": "0" * 64, "size": 0}
    other = {"path": "a", "sha256": "0" * 64, "size": 0}
    base = {"_type": "https://nebsign.dev/manifest/v1"}
    with pytest.raises(InputError, match="sorted"):
        Manifest.from_dict({**base, "files": [entry, other]})
    with pytest.raises(InputError, match="duplicate"):
        Manifest.from_dict({**base, "files": [entry, entry]})
    with pytest.raises(InputError, match="both an entry and a directory"):
        Manifest.from_dict({**base, "files": [other, {**entry, "path": "a/b"}]})


def test_copy_of_tree_verifies(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    make_release(src)
    manifest = build_manifest(src)
    shutil.copytree(src, tmp_path / "dst", symlinks=True)
    assert verify_tree(manifest, tmp_path / "dst").ok


def test_file_name_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    fd = os.open(os.fsencode(tmp_path) + b"/bad-\xff.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    result = run_cli("manifest", "create", str(tmp_path))
    assert_one_line_error(result, 2)
    assert "not valid UTF-8" in result.stderr


def test_executable_bit_is_recorded_and_a_change_is_reported(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "run.sh").write_bytes(b"#!/bin/sh\n")
    (tree / "data").write_bytes(b"x")
    os.chmod(tree / "run.sh", 0o755)
    manifest = build_manifest(tree)
    assert [(e.path, e.executable) for e in manifest.files] == [("data", False), ("run.sh", True)]
    raw = manifest.to_json()
    assert b'{"executable":true,"path":"run.sh",' in raw
    assert b'"executable":false' not in raw
    assert Manifest.from_json(raw) == manifest
    os.chmod(tree / "run.sh", 0o644)
    os.chmod(tree / "data", 0o700)
    diff = verify_tree(manifest, tree)
    assert [c.path for c in diff.changed] == ["data", "run.sh"]
    assert diff.changed[1].expected.endswith("bytes, executable)")


def test_executable_false_or_non_boolean_is_refused() -> None:
    base = {"_type": "https://nebsign.dev/manifest/v1"}
    entry = {"path": "a", "sha256": "0" * 64, "size": 0}
    for bad in (False, 1, "true"):
        with pytest.raises(InputError, match="executable"):
            Manifest.from_dict({**base, "files": [{**entry, "executable": bad}]})
