"""``nebsign release`` end to end on the bundled example: real bandit and semgrep, real
keys, real gates, the agent installing the output from a directory and over loopback HTTP."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from releasekit import AUDITS, METRICS, PASSPHRASE, release, write_agent_policy

from nebsign.bundle import Bundle
from nebsign.keys import load_public_key
from nebsign.manifest import Manifest
from nebsign.policy.trust import TrustPolicy
from nebsign.tree import verify_tree
from nebsign.verify import verify_artifact, verify_attestation

FAR = "2099-01-01T00:00:00Z"
GATES = (
    "--expires",
    FAR,
    "--staging-baseline",
    str(METRICS / "staging-baseline.json"),
    "--staging-current",
    str(METRICS / "staging-current-pass.json"),
    "--canary-metrics",
    str(METRICS / "canary-pass.om"),
    "--audit",
    str(AUDITS / "vault-audit.toml"),
)
VULN = (
    "\n\ndef find(conn, account):\n"
    "    return conn.execute(f\"SELECT * FROM orders WHERE account = '{account}'\").fetchall()\n"
)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (
            p.read_bytes() if not p.is_symlink() else b"-> " + bytes(p.readlink())
        )
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


@pytest.fixture
def published(tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path) -> Path:
    out = tmp_path / "out" / "exchange-api-1.4.3"
    out.parent.mkdir()
    result = release(example, example, out, keys[0], *GATES, "--format", "json", cache=sast_cache)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [s["step"] for s in report["steps"]] == ["sast", "audit", "gate-staging", "gate-canary"]
    assert report["published"] == str(out)
    assert report["time_source"] == "SOURCE_DATE_EPOCH"
    assert "report/index.html" in report["layout"]
    from nebsign.keys import key_id, load_public_key

    signer = {"kind": "key", "key_id": key_id(load_public_key(keys[1].read_bytes()))}
    assert report["signer"] == signer  # keyless: identity, issuer, instance, host_policy
    # progress on stderr, one line per step at least
    assert "nebsign release: sast: PASS" in result.stderr
    assert "nebsign release: report: rendering" in result.stderr
    return out


def test_layout_is_the_agents_and_every_signature_verifies(
    published: Path, example: Path, keys: tuple[Path, Path]
) -> None:
    names = sorted(str(p.relative_to(published)) for p in published.iterdir())
    assert names == [
        "attestations",
        "index.json",
        "payload",
        "release.json",
        "release.json.sigstore.json",
        "report",
    ]
    index = json.loads((published / "index.json").read_bytes())
    assert index == {
        "attestations": [
            "attestations/audit.sigstore.json",
            "attestations/gate-canary.sigstore.json",
            "attestations/gate-staging.sigstore.json",
            "attestations/sast.sigstore.json",
        ],
        "signatures": ["release.json.sigstore.json"],
    }
    raw = (published / "release.json").read_bytes()
    manifest = Manifest.from_json(raw)
    assert (manifest.name, manifest.version) == ("exchange-api", "1.4.3")
    assert manifest.expires == FAR
    assert verify_tree(manifest, published / "payload").ok
    assert verify_tree(manifest, example).ok  # the payload is the build output, byte for byte
    policy = TrustPolicy.from_keys([load_public_key(keys[1].read_bytes())])
    sig = Bundle.from_json((published / "release.json.sigstore.json").read_bytes())
    verify_artifact(manifest.digest(), [sig], policy)
    for name in index["attestations"]:
        statement = verify_attestation(Bundle.from_json((published / name).read_bytes()), policy)
        assert statement.covers(manifest.digest())
        assert statement.predicate["verdict"] == "pass"
        assert statement.predicate["policy_digest"].startswith("sha256:")


def test_same_inputs_give_byte_identical_output(
    published: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    again = published.parent / "again"
    result = release(example, example, again, keys[0], *GATES, cache=sast_cache)
    assert result.exit_code == 0, result.stderr
    assert _files(again) == _files(published)
    # a cold cache changes nothing either (cache statistics never enter a verdict)
    cold = published.parent / "cold"
    result = release(example, example, cold, keys[0], *GATES, "--no-sast-cache")
    assert result.exit_code == 0, result.stderr
    assert _files(cold) == _files(published)


def test_installs_with_the_agent_from_a_directory(
    published: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    from helpers import run_cli

    host = write_agent_policy(tmp_path / "etc", tmp_path / "host", keys[1], require_gate=True)
    result = run_cli("agent", "install", str(published), "--policy", str(host), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "installed"
    live = tmp_path / "host" / "current" / "payload"
    assert (live / "app" / "exchange_api" / "orders.py").read_bytes() == (
        published / "payload" / "app" / "exchange_api" / "orders.py"
    ).read_bytes()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(published: Path) -> Iterator[str]:
    handler = functools.partial(Quiet, directory=str(published.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/{published.name}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_installs_with_the_agent_over_loopback_http(
    served: str, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    from helpers import run_cli

    host = write_agent_policy(tmp_path / "etc", tmp_path / "host", keys[1], require_gate=True)
    result = run_cli("agent", "install", served, "--policy", str(host), "--format", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "installed"
    assert (tmp_path / "host" / "current" / "payload" / "app" / "run.sh").is_file()


def test_planted_sql_string_stops_the_release_at_sast(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    orders = example / "app" / "exchange_api" / "orders.py"
    orders.write_text(orders.read_text() + VULN)
    out = tmp_path / "out"
    result = release(example, example, out, keys[0], *GATES, "--format", "json", cache=sast_cache)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["failed"] == ["sast"]
    assert report["published"] is None
    assert report["steps"][0]["verdict"] == "fail"
    assert "orders.py" in report["steps"][0]["reason"]
    # the gates did not run: stopped at the first failing step
    assert [s["step"] for s in report["steps"]] == ["sast"]
    assert report["skipped"] == [
        "sast-source: SRC_DIR is BUILD_DIR (scanned as the payload)",
        "dast: no input given",
        "audit: not run, an earlier step failed",
        "gate-staging: not run, an earlier step failed",
        "gate-canary: not run, an earlier step failed",
    ]
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("nebsign: error:")]
    assert len(errors) == 1 and "release stopped at sast" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_keep_going_runs_every_step_and_names_each_failure(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    orders = example / "app" / "exchange_api" / "orders.py"
    orders.write_text(orders.read_text() + VULN)
    out = tmp_path / "out"
    result = release(
        example,
        example,
        out,
        keys[0],
        "--staging-baseline",
        str(METRICS / "staging-baseline.json"),
        "--staging-current",
        str(METRICS / "staging-current-fail.json"),
        "--canary-metrics",
        str(METRICS / "canary-fail.om"),
        "--keep-going",
        "--format",
        "json",
        cache=sast_cache,
    )
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == ["sast", "gate-staging", "gate-canary"]
    assert "(and gate-staging, gate-canary)" in result.stderr
    assert not out.exists()


def test_a_failing_canary_gate_stops_the_release_naming_it(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    out = tmp_path / "out"
    result = release(
        example,
        example,
        out,
        keys[0],
        "--canary-metrics",
        str(METRICS / "canary-fail.om"),
        cache=sast_cache,
    )
    assert result.exit_code == 1, result.stderr
    assert "release stopped at gate-canary: FAIL" in result.stderr
    assert "gate-canary   FAIL" in result.stdout
    assert not out.exists()


def test_without_metrics_the_gates_are_skipped_and_said_so(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    out = tmp_path / "out"
    result = release(example, example, out, keys[0], "--format", "json", cache=sast_cache)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["step"] for s in report["steps"]] == ["sast"]
    assert report["skipped"] == [
        "sast-source: SRC_DIR is BUILD_DIR (scanned as the payload)",
        "dast: no input given",
        "audit: no input given",
        "gate-staging: no input given",
        "gate-canary: no input given",
    ]
    manifest = Manifest.from_json((out / "release.json").read_bytes())
    assert manifest.expires == "2026-01-31T00:00:00Z"  # SOURCE_DATE_EPOCH + 30 days
    assert json.loads((out / "index.json").read_bytes())["attestations"] == [
        "attestations/sast.sigstore.json"
    ]


def test_passphrase_from_a_file_descriptor(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.write(write, PASSPHRASE.encode() + b"\n")
    os.close(write)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "NEBSIGN_PASSPHRASE"}
    env["SOURCE_DATE_EPOCH"] = "1767225600"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nebsign",
            "release",
            str(example),
            str(example),
            "-o",
            str(out),
            "--key",
            str(keys[0]),
            "--passphrase-fd",
            str(read),
            "--name",
            "exchange-api",
            "--version",
            "1.4.3",
            "--sast-cache",
            str(sast_cache),
            "-q",
        ],
        pass_fds=(read,),
        capture_output=True,
        env=env,
        check=False,
    )
    os.close(read)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""  # -q: no progress
    assert (out / "release.json.sigstore.json").is_file()


def test_an_edited_audited_contract_stops_the_release_at_the_audit_check(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    vault = example / "contracts" / "Vault.sol"
    vault.write_bytes(
        vault.read_bytes().replace(
            b"balances[msg.sender] -= amount;", b"balances[msg.sender] -= amount; // edited"
        )
    )
    out = tmp_path / "out"
    result = release(example, example, out, keys[0], *GATES, "--format", "json", cache=sast_cache)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == ["audit"]
    assert [s["step"] for s in report["steps"]] == ["sast", "audit"]
    reason = report["steps"][1]["reason"]
    assert "changed since the audit" in reason and "contracts/Vault.sol" in reason
    assert "release stopped at audit" in result.stderr
    assert not out.exists()


def test_the_public_report_is_signed_and_verifies_against_the_release(
    published: Path, keys: tuple[Path, Path]
) -> None:
    from helpers import run_cli

    report = published / "report"
    assert sorted(p.name for p in report.iterdir()) == [
        "index.html",
        "report.json",
        "report.json.sigstore.json",
        "report.md",
    ]
    doc = json.loads((report / "report.json").read_bytes())
    assert doc["release"]["date"] == "2026-01-01"  # from SOURCE_DATE_EPOCH
    assert sorted(e["kind"] for e in doc["evidence"]) == ["audit", "gate", "gate", "sast"]
    result = run_cli(
        "report", "verify", str(report), "--release", str(published), "--trust-key", str(keys[1])
    )
    assert result.exit_code == 0, result.stderr
    assert "evidence re-verified: report.json matches the release" in result.stdout


def test_no_report_leaves_it_out(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    out = tmp_path / "out"
    result = release(example, example, out, keys[0], "--no-report", cache=sast_cache)
    assert result.exit_code == 0, result.stderr
    assert not (out / "report").exists()
    assert "public report" not in result.stdout
    # SOURCE_DATE_EPOCH (2026-01-01) + 30 days is already past: said, not refused
    assert "warning: release.json expires 2026-01-31T00:00:00Z, already past" in result.stderr


def test_force_replaces_a_previous_release_atomically(
    published: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    before = _files(published)
    (published / "stray.txt").write_text("left over\n")
    result = release(example, example, published, keys[0], *GATES, "--force", cache=sast_cache)
    assert result.exit_code == 0, result.stderr
    assert _files(published) == before  # the stray file is gone, the rest byte-identical
    assert [p.name for p in published.parent.iterdir()] == [published.name]  # no leftovers


def test_control_characters_in_a_file_name_are_escaped_in_every_output(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    evil = example / "app" / "exchange_api" / "evil\x1b[2Jname.py"
    evil.write_text("import sqlite3\n" + VULN)
    result = release(example, example, tmp_path / "out", keys[0], cache=sast_cache)
    assert result.exit_code == 1, result.stderr
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    assert "evil\\x1b[2Jname.py" in result.stdout + result.stderr


def test_a_separate_source_dir_is_scanned_too_and_the_payload_scan_is_what_hosts_count(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    from helpers import run_cli

    out = tmp_path / "out"
    result = release(
        example / "app",
        example,
        out,
        keys[0],
        "--expires",
        FAR,
        "--format",
        "json",
        cache=sast_cache,
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["step"] for s in report["steps"]] == ["sast", "sast-source"]
    # the source scan names files by their source path: hosts count the payload scan
    assert "sast-source.sigstore.json counts for nothing on hosts" in result.stderr
    host = write_agent_policy(tmp_path / "etc", tmp_path / "host", keys[1], require_gate=False)
    installed = run_cli("agent", "install", str(out), "--policy", str(host))
    assert installed.exit_code == 0, installed.stderr


def test_a_vulnerability_only_in_the_source_dir_stops_the_release(
    tmp_path: Path, example: Path, keys: tuple[Path, Path], sast_cache: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "tool.py").write_text("import sqlite3\n" + VULN)
    result = release(src, example, tmp_path / "out", keys[0], "--format", "json", cache=sast_cache)
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["failed"] == ["sast-source"]
    assert "release stopped at sast-source" in result.stderr
