"""`nebsign scan sast` exit codes, outputs and the signed verdict."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from helpers import REPO, assert_one_line_error, run_cli

VULN = REPO / "examples" / "vulnerable"
CLEAN = REPO / "examples" / "release" / "app"


def scan(*args: str, cwd: Path | None = None, env: dict | None = None):
    return run_cli("scan", "sast", "--no-cache", *args, cwd=cwd, env=env)


def test_clean_tree_passes_exit_0() -> None:
    result = scan(cwd=CLEAN)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "verdict: PASS" in result.stdout and result.stderr == ""


def test_vulnerable_tree_fails_exit_1_grouped_by_severity() -> None:
    result = scan(cwd=VULN)
    assert result.exit_code == 1
    assert_one_line_error(result, 1)
    out = result.stdout
    assert out.index("HIGH (") < out.index("MEDIUM (")
    assert "admin.py:15:" in out and "sql-built-from-strings" in out
    assert "price_feed.py:12:" in out and "yaml-unsafe-load" in out
    assert "suppressed inline: 1 by # nosec, 0 by # nosemgrep" in out
    assert "verdict: FAIL" in out


def test_json_result_carries_the_whole_verdict() -> None:
    result = scan("--format", "json", cwd=VULN)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "fail"
    assert doc["policy_digest"].startswith("sha256:")
    assert doc["tools"]["bandit"] == "1.9.4" and doc["tools"]["semgrep"] == "1.185.0"
    assert set(doc["rules_digests"]) == {"bandit", "semgrep"}
    assert doc["subject"]["digest"]["sha256"] and doc["predicate_type"].startswith("https://")
    assert doc["findings_digest"].startswith("sha256:")
    assert doc["counts"]["suppressed_inline"] == {"bandit": 1, "semgrep": 0}
    assert doc["counts"]["failing"] == len(
        [f for f in doc["findings"] if f["properties"]["level"] == "FAIL"]
    )
    assert doc["suppressed"][0]["comment"] == "# nosec B602 -- a constant command"
    assert all(len(f["fingerprint"]) == 64 for f in doc["findings"])


def test_ignored_findings_appear_nowhere(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[sast]\n[sast.rules]\nyaml-unsafe-load = "IGNORE"\nB506 = "IGNORE"\n')
    sarif = tmp_path / "o.sarif"
    result = scan("--policy", str(policy), "--format", "json", "--sarif", str(sarif), cwd=VULN)
    assert "yaml-unsafe-load" not in result.stdout and "B506" not in result.stdout
    assert "yaml-unsafe-load" not in sarif.read_text() and "B506" not in sarif.read_text()
    assert json.loads(result.stdout)["counts"]["ignored_by_policy"] == 1
    text = scan("--policy", str(policy), cwd=VULN)
    assert "yaml" not in text.stdout.replace("ignored by policy", "")


def test_write_baseline_then_pass(tmp_path: Path) -> None:
    work = tmp_path / "svc"
    shutil.copytree(VULN, work)
    baseline = work / ".nebsign" / "sast-baseline.toml"
    baseline.parent.mkdir()
    wrote = scan(
        "--write-baseline",
        str(baseline),
        "--who",
        "alice",
        "--why",
        "demo",
        "--until",
        "2099-12-31",
        cwd=work,
    )
    assert wrote.exit_code == 0, wrote.stderr
    again = scan(cwd=work)  # the default policy finds .nebsign/sast-baseline.toml
    assert again.exit_code == 0, again.stdout
    assert "accepted by the baseline" in again.stdout
    later = scan("--today", "2100-01-01", cwd=work)
    assert later.exit_code == 1 and "EXPIRED" in later.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--policy", "/nonexistent/policy.toml"],
        ["does-not-exist.py"],
        ["--until", "soon", "--write-baseline", "b.toml", "--who", "a", "--why", "b"],
        ["--write-baseline", "b.toml"],
        ["--attest", "out.json"],
        ["--jobs", "-1"],
        ["--engine", "cloud"],
    ],
)
def test_bad_usage_exit_2(args: list[str], tmp_path: Path) -> None:
    shutil.copytree(CLEAN, tmp_path / "app")
    result = scan(*args, cwd=tmp_path / "app")
    assert_one_line_error(result, 2)


def test_malformed_policy_and_baseline_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sast]\nscanners = ['pylint']\n")
    assert_one_line_error(scan("--policy", str(bad), cwd=CLEAN), 2)
    bad.write_text("[[finding]]\nfingerprint = 'nope'\n")
    assert_one_line_error(scan("--baseline", str(bad), cwd=CLEAN), 2)


def test_path_outside_root_exit_2(tmp_path: Path) -> None:
    result = scan("--root", str(tmp_path), str(CLEAN))
    assert_one_line_error(result, 2)
    assert "--root" in result.stderr


def test_missing_scanner_exit_3_with_install_hint(tmp_path: Path) -> None:
    """An interpreter with no scanners beside it and none on PATH."""
    lonely = tmp_path / "bin"
    lonely.mkdir()
    os.symlink(os.path.realpath(sys.executable), lonely / "python3")
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}{os.pathsep}{site}"}
    import subprocess

    proc = subprocess.run(
        [str(lonely / "python3"), "-m", "nebsign", "scan", "sast", "--no-cache"],
        cwd=CLEAN,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("nebsign: error: scanner 'bandit' is not installed")
    assert "pip install 'nebsign[scan]'" in proc.stderr and "Traceback" not in proc.stderr


def test_attest_writes_a_verifiable_signed_statement(tmp_path: Path) -> None:
    made = run_cli("key", "generate", "-o", str(tmp_path / "k"), "--no-passphrase")
    assert made.exit_code == 0, made.stderr
    key, pub = tmp_path / "k.key", tmp_path / "k.pub"
    out = tmp_path / "sast.sigstore.json"
    manifest = tmp_path / "scanned.json"
    result = scan(
        "--attest",
        str(out),
        "--key",
        str(key),
        "--format",
        "json",
        "--manifest",
        str(manifest),
        cwd=VULN,
    )
    assert result.exit_code == 1  # the verdict is fail, and it is still attested
    from nebsign.bundle import Bundle
    from nebsign.keys import load_public_key
    from nebsign.policy.trust import TrustPolicy
    from nebsign.verify import verify_attestation

    bundle = Bundle.from_json(out.read_bytes())
    policy = TrustPolicy.from_keys([load_public_key(pub.read_bytes())])
    stmt = verify_attestation(bundle, policy)
    doc = json.loads(result.stdout)
    assert stmt.predicate_type == doc["predicate_type"]
    assert stmt.subjects[0].sha256 == doc["subject"]["digest"]["sha256"]
    assert stmt.predicate["verdict"] == "fail"
    from nebsign.manifest import Manifest

    scanned = Manifest.from_json(manifest.read_bytes())
    assert scanned.digest() == stmt.subjects[0].sha256
    assert [f.path for f in scanned.files] == ["admin.py", "price_feed.py"]
    assert stmt.predicate["findings_digest"] == doc["findings_digest"]
    assert stmt.predicate["policy_digest"] == doc["policy_digest"]


def test_help_teaches() -> None:
    result = run_cli("scan", "sast", "--help")
    assert result.exit_code == 0
    assert (
        "--staged" in result.stdout and "Examples:" in result.stdout and "# nosec" in result.stdout
    )


def test_secrets_never_reach_reports(tmp_path: Path) -> None:
    sarif = tmp_path / "o.sarif"
    result = scan("--format", "json", "--sarif", str(sarif), cwd=VULN)
    assert "hardcoded-secret" in result.stdout
    for text in (result.stdout, sarif.read_text(), scan(cwd=VULN).stdout):
        assert "pk_live_4f9a8b7c6d5e" not in text
    case = REPO / "tests" / "sast" / "cases"
    keys = scan(
        "--format",
        "json",
        "--root",
        str(case),
        str(case / "hardcoded-private-key.py"),
        str(case / "hardcoded-secret.py"),
    )
    assert "MHcCAQEEIDummy" not in keys.stdout and "Tr4d1ng-Pr0d" not in keys.stdout
    assert "<redacted>" in keys.stdout


def test_empty_scope_passes_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("eval(input())\n")
    result = scan(cwd=tmp_path)
    assert result.exit_code == 0
    assert result.stderr.startswith("nebsign: warning: no files in scope")


def test_nebsign_own_code_passes_its_own_gate() -> None:
    """What this repository's pre-commit hook enforces on nebsign/."""
    result = scan("nebsign", cwd=REPO)
    assert result.exit_code == 0, result.stdout
