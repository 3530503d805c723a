"""Issue 18: dangerous code a contributor tried to get past the gate, in ``scan`` and ``--staged``.

One corpus repository holds every bypass; each case names the path that must
fail the gate (a finding at level FAIL, or a scanner error) in both modes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli
from sast.sastkit import git

SYSTEM = "import os\n\n\ndef run(cmd):\n    os.system(cmd)\n"
PICKLE = "import pickle\n\n\ndef load(request):\n    return pickle.loads(request.data)\n"

#: path -> content; each must fail the gate
CORPUS: dict[str, bytes] = {
    # 1. bandit's substring excludes (CVS, .git, ...) + a form semgrep misreads
    "app/CVSReport.py": b"import os\ros.system(cmd)\n",
    "shop/CVSS.py": b"# coding: utf-7\nimport os\nos.system(cmd)\n",
    ".github/scripts/hook.py": "import os\n\uff4f\uff53.system(cmd)\n".encode(),
    "shop/gitops.py": b"import pickle\r\rpickle.loads(request.data)\n",
    # 4. directory names excluded at any depth, Python that is not *.py
    "shop/build/b.py": SYSTEM.encode(),
    "shop/dist/d.py": SYSTEM.encode(),
    "shop/venv/v.py": SYSTEM.encode(),
    "shop/node_modules/n.py": SYSTEM.encode(),
    "shop/__pycache__/p.py": SYSTEM.encode(),
    "shop/gui.pyw": SYSTEM.encode(),
    "shop/boot.pth": b"/opt/lib\nimport os; os.system(os.environ['HOOK'])\n",
    "bin/deploy": ("#!/usr/bin/env python3\n" + SYSTEM).encode(),
    # 4. production code named like a test keeps production levels
    "shop/ab_test.py": b"import hashlib\n\n\ndef pw(p):\n    return hashlib.md5(p).hexdigest()\n",
    # 7. git archive rewrites this file from the commit subject
    "app/version.py": b'__commit__ = "$Format:%s$"\n',
    # item 19: binary bytes in a .py file
    "shop/blob.py": b"\x00\x81\xfe\xffbinary\n",
}
EXECUTABLE = {"bin/deploy"}
GITATTRIBUTES = b"app/version.py export-subst\n"
LINK = ("shop/hooks.py", "../docs/hooks.txt")
LINK_BODY = ("docs/hooks.txt", PICKLE.encode())
CLEAN = {"shop/ok.py": b"def add(a, b):\n    return a + b\n", "bin/run.sh": b"#!/bin/sh\necho hi\n"}


def build(root: Path) -> None:
    for rel, data in {**CORPUS, **CLEAN, LINK_BODY[0]: LINK_BODY[1]}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if rel in EXECUTABLE or rel.endswith(".sh"):
            path.chmod(0o755)
    (root / ".gitattributes").write_bytes(GITATTRIBUTES)
    os.symlink(LINK[1], root / LINK[0])


@pytest.fixture
def corpus(repo: Path) -> Path:
    build(repo)
    git(repo, "add", "-A")
    return repo


def _json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 1, (result.exit_code, result.stdout[-2000:], result.stderr)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _failing_paths(doc: dict[str, Any]) -> set[str]:
    paths = {f["location"]["path"] for f in doc["findings"] if f["properties"]["level"] == "FAIL"}
    return paths | {e["path"] for e in doc["errors"]}


def _rules(doc: dict[str, Any], path: str) -> set[str]:
    """Rules reported at *path*, with those folded into another tool's finding."""
    out = set()
    for f in doc["findings"]:
        if f["location"]["path"] == path:
            out.add(f["rule_id"])
            out |= {a["rule_id"] for a in f["properties"].get("also_reported_by", [])}
    return out


def _check(doc: dict[str, Any]) -> None:
    failing = _failing_paths(doc)
    missing = sorted(set(CORPUS) - failing - {"app/version.py"} | ({LINK[0]} - failing))
    assert not missing, missing
    assert "shop/ok.py" not in failing and "bin/run.sh" not in failing
    assert {"carriage-return-line-break", "B605"} <= _rules(doc, "app/CVSReport.py")
    assert "non-utf8-coding" in _rules(doc, "shop/CVSS.py")
    assert "non-nfkc-identifier" in _rules(doc, ".github/scripts/hook.py")
    assert "B605" in _rules(doc, ".github/scripts/hook.py")  # bandit scanned it
    assert "git-attribute-rewrites-source" in _rules(doc, "app/version.py")
    assert "pickle-load" in _rules(doc, LINK[0])
    assert _rules(doc, "shop/boot.pth") and _rules(doc, "bin/deploy")
    blob = [e for e in doc["errors"] if e["path"] == "shop/blob.py"]
    assert blob and blob[0]["tool"] == "nebsign", doc["errors"]


def test_every_bypass_fails_the_work_tree_scan(corpus: Path) -> None:
    _check(_json(run_cli("scan", "sast", "--no-cache", "--format", "json", cwd=corpus)))


def test_every_bypass_fails_the_staged_scan(corpus: Path) -> None:
    doc = _json(run_cli("scan", "sast", "--staged", "--no-cache", "--format", "json", cwd=corpus))
    _check(doc)


def test_cached_verdicts_equal_uncached_over_the_corpus(corpus: Path, tmp_path: Path) -> None:
    """A staged run's cache must not change a later work-tree verdict, nor the reverse."""
    from sast.sastkit import CASES

    shutil.copytree(CASES, corpus / "cases")
    git(corpus, "add", "-A")
    cache = str(tmp_path / "cache")
    args = ("scan", "sast", "--format", "json")
    runs = {
        "staged-cold": run_cli(*args, "--staged", "--no-cache", cwd=corpus),
        "tree-cold": run_cli(*args, "--no-cache", cwd=corpus),
        "staged-fill": run_cli(*args, "--staged", "--cache", cache, cwd=corpus),
        "tree-warm": run_cli(*args, "--cache", cache, cwd=corpus),
        "staged-warm": run_cli(*args, "--staged", "--cache", cache, cwd=corpus),
    }
    assert runs["tree-warm"].stdout_bytes == runs["tree-cold"].stdout_bytes
    assert runs["staged-warm"].stdout_bytes == runs["staged-fill"].stdout_bytes
    assert runs["staged-fill"].stdout_bytes == runs["staged-cold"].stdout_bytes
    # the same bytes at another path are scanned again, not served from the cache
    (corpus / "elsewhere").mkdir()
    shutil.copy(corpus / "app" / "CVSReport.py", corpus / "elsewhere" / "CVSReport.py")
    moved = run_cli(*args, "--cache", cache, "elsewhere", cwd=corpus)
    assert "B605" in _rules(_json(moved), "elsewhere/CVSReport.py")


def test_a_cache_others_can_write_is_refused(tmp_path: Path, corpus: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    result = run_cli("scan", "sast", "--cache", str(cache), "shop/ok.py", cwd=corpus)
    assert result.exit_code == 2 and "writable by group or others" in result.stderr
    cache.chmod(0o700)
    assert run_cli("scan", "sast", "--cache", str(cache), "shop/ok.py", cwd=corpus).exit_code == 0
    db = cache / "sast-cache.sqlite3"
    db.chmod(db.stat().st_mode | stat.S_IWGRP)
    result = run_cli("scan", "sast", "--cache", str(cache), "shop/ok.py", cwd=corpus)
    assert result.exit_code == 2 and "sast-cache.sqlite3" in result.stderr


def test_a_link_leaving_the_tree_is_an_error(tmp_path: Path, repo: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(SYSTEM)
    os.symlink(outside, repo / "hooks.py")
    result = run_cli("scan", "sast", "--no-cache", cwd=repo)
    assert result.exit_code == 2 and "outside the scan root" in result.stderr
    git(repo, "add", "hooks.py")
    staged = run_cli("scan", "sast", "--staged", "--no-cache", cwd=repo)
    assert staged.exit_code == 2 and "outside the repository" in staged.stderr


def test_staged_type_change_from_symlink_to_file_is_scanned(repo: Path) -> None:
    (repo / "target.txt").write_text("x\n")
    os.symlink("target.txt", repo / "mod.py")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "link")
    (repo / "mod.py").unlink()
    (repo / "mod.py").write_text(SYSTEM)
    git(repo, "add", "mod.py")
    assert "T\tmod.py" in git(repo, "diff", "--cached", "--name-status").stdout
    doc = _json(run_cli("scan", "sast", "--staged", "--no-cache", "--format", "json", cwd=repo))
    assert "B605" in _rules(doc, "mod.py")


def test_staged_change_of_a_link_target_scans_the_link(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs" / "hooks.txt").write_text("x = 1\n")
    os.symlink("docs/hooks.txt", repo / "hooks.py")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "link")
    (repo / "docs" / "hooks.txt").write_text(PICKLE)
    git(repo, "add", "docs/hooks.txt")
    doc = _json(run_cli("scan", "sast", "--staged", "--no-cache", "--format", "json", cwd=repo))
    assert "pickle-load" in _rules(doc, "hooks.py")


#: issue 18 item 9: each statement alone passed the gate
GAPS = [
    'getattr(os, "sys" + "tem")(x)',
    '__import__("os").system(x)',
    'importlib.import_module("os").system(x)',
    "run = os.system; run(x)",
    "os.popen(cmd=x)",
    "subprocess.getoutput(cmd=x)",
    'subprocess.call(x, **{"shell": True})',
    'Popen(["/bin/sh", "-c", x])',
    "asyncio.create_subprocess_shell(x)",
    'os.spawnlp(os.P_WAIT, "sh", "sh", "-c", x)',
    "e = eval; e(input())",
    'getattr(builtins, "eval")(x)',
    "pickle._loads(x)",
    "pickle._Unpickler(x).load()",
    "numpy.load(x, allow_pickle=True)",
    "yaml.load_all(x, Loader=yaml.Loader)",
    "yaml.unsafe_load_all(x)",
    "yaml.full_load_all(x)",
    'cur.execute(" ".join(["SELECT * FROM t WHERE n =", x]))',
    "requests.Session().get(x, verify=False, timeout=5)",
    "requests.get(x, verify=0, timeout=5)",
    'requests.get(x, timeout=5, **{"verify": False})',
    "tarfile.open(x).extractall()",
    "os.chmod(x, 0o777)",
]
GAP_HEAD = (
    "import asyncio\nimport builtins\nimport importlib\nimport os\nimport pickle\n"
    "import subprocess\nimport tarfile\nfrom subprocess import Popen\n\nimport numpy\n"
    "import requests\nimport yaml\n\n\ndef f(x, cur):\n"
)


@pytest.mark.parametrize("staged", [False, True], ids=["scan", "staged"])
def test_every_rule_gap_fails(repo: Path, staged: bool) -> None:
    first = GAP_HEAD.count("\n") + 1
    (repo / "gaps.py").write_text(GAP_HEAD + "".join(f"    {g}\n" for g in GAPS))
    (repo / "star.py").write_text("from os import *  # noqa: F403\n")
    git(repo, "add", "-A")
    mode = ("--staged",) if staged else ()
    doc = _json(run_cli("scan", "sast", *mode, "--no-cache", "--format", "json", cwd=repo))
    failing = {
        (f["location"]["path"], f["location"]["line"])
        for f in doc["findings"]
        if f["properties"]["level"] == "FAIL"
    }
    missed = [g for i, g in enumerate(GAPS) if ("gaps.py", first + i) not in failing]
    assert not missed, missed
    assert ("star.py", 1) in failing


def test_a_file_a_scanner_did_not_list_is_an_error_not_clean() -> None:
    """No error reported is not enough: each scanner must list the file it read."""
    from sast.sastkit import bandit, semgrep

    report = {"errors": [], "results": [], "metrics": {"./a.py": {}, "_totals": {}}}
    out = bandit().parse(json.dumps(report).encode(), b"", ["a.py", "CVSReport.py"])
    assert list(out.hits) == ["a.py"]
    assert [(e.path, e.message) for e in out.errors] == [
        ("CVSReport.py", "bandit did not scan this file")
    ]
    doc = {"errors": [], "results": [], "paths": {"scanned": ["a.py"]}}
    out = semgrep().parse(json.dumps(doc).encode(), b"", ["a.py", "b.py"])
    assert list(out.hits) == ["a.py"] and [e.path for e in out.errors] == ["b.py"]
    # invalid UTF-8 in a report (a binary file echoed back) still parses
    raw = json.dumps(doc).encode().replace(b'"results": []', b'"results": [], "x": "\xff"')
    assert list(semgrep().parse(raw, b"", ["a.py"]).hits) == ["a.py"]


def test_staged_directory_symlink_scans_the_package_under_its_name(repo: Path) -> None:
    (repo / "vendor" / "pkg").mkdir(parents=True)
    (repo / "vendor" / "pkg" / "x.py").write_text("x = 1\n")
    (repo / "shop").mkdir()
    os.symlink("../vendor/pkg", repo / "shop" / "pkg")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "dir link")
    (repo / "vendor" / "pkg" / "x.py").write_text(SYSTEM)
    git(repo, "add", "-A")
    for mode in (("--staged",), ()):
        doc = _json(run_cli("scan", "sast", *mode, "--no-cache", "--format", "json", cwd=repo))
        assert {"shop/pkg/x.py", "vendor/pkg/x.py"} <= _failing_paths(doc), mode
