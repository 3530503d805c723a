"""`nebsign scan dast`: exit codes, JSON, SARIF, the signed verdict, secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from helpers import SHARED, assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

FAST = "xss-reflected,sqli-error,command-injection"
# beside the checkout (CI, main) or beside the worktrees' parent (a worktree)
SCHEMAS = [
    d / "testdata" / "sarif" / "sarif-schema-2.1.0.json"
    for d in (SHARED, SHARED.parent.parent / "shared")
]


def dast(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return run_cli("scan", "dast", *args, env=env, cwd=cwd)


def test_vulnerable_app_fails_exit_1_with_text_summary(vuln_url: str) -> None:
    result = dast(vuln_url + "/", "--checks", FAST, "-q")
    assert_one_line_error(result, 1)
    out = result.stdout
    assert "CRITICAL (" in out and "command-injection" in out and "reproduce: curl" in out
    assert "verdict: FAIL" in out
    assert "(unconfirmed: run with --browser)" in out


def test_twin_passes_exit_0(twin_url: str) -> None:
    result = dast(twin_url + "/", "--checks", FAST, "-q")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "verdict: PASS" in result.stdout and result.stderr == ""


def test_json_sarif_and_signed_verdict(vuln_url: str, tmp_path: Path) -> None:
    made = run_cli("key", "generate", "-o", str(tmp_path / "k"), "--no-passphrase")
    assert made.exit_code == 0, made.stderr
    sarif, bundle_path = tmp_path / "dast.sarif", tmp_path / "dast.sigstore.json"
    result = dast(
        vuln_url + "/",
        "--checks",
        FAST,
        "--format",
        "json",
        "--sarif",
        str(sarif),
        "--attest",
        str(bundle_path),
        "--key",
        str(tmp_path / "k.key"),
    )
    assert result.exit_code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "fail" and doc["predicate_type"].endswith("/dast/v1")
    assert doc["target"] == [vuln_url]
    assert doc["subject"]["name"] == f"dast-target:{vuln_url}"
    assert set(doc["coverage"]) >= {"requests", "endpoints", "not_covered"}
    assert doc["findings_digest"].startswith("sha256:") and doc["policy_digest"].startswith(
        "sha256:"
    )
    assert doc["tools"]["httpx"]
    rules = {f["rule_id"] for f in doc["findings"]}
    assert {"xss-reflected", "sqli-error", "command-injection"} <= rules

    log = json.loads(sarif.read_text())
    schema = json.loads(next(p for p in SCHEMAS if p.is_file()).read_text())
    jsonschema.validate(log, schema)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert f"{vuln_url}/ping" in uris

    from nebsign.bundle import Bundle
    from nebsign.keys import load_public_key
    from nebsign.policy.trust import TrustPolicy
    from nebsign.verify import verify_attestation

    policy = TrustPolicy.from_keys([load_public_key((tmp_path / "k.pub").read_bytes())])
    stmt = verify_attestation(Bundle.from_json(bundle_path.read_bytes()), policy)
    assert stmt.predicate_type == doc["predicate_type"]
    assert stmt.subjects[0].sha256 == doc["subject"]["digest"]["sha256"]
    assert stmt.predicate["findings_digest"] == doc["findings_digest"]
    assert stmt.predicate["verdict"] == "fail"


def test_subject_manifest_names_the_release(vuln_url: str, tmp_path: Path) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_bytes(b'{"files":[]}')
    result = dast(
        vuln_url + "/search?q=x", "--checks", "xss-reflected", "--max-pages", "1",
        "--subject-manifest", str(manifest), "--format", "json",
    )  # fmt: skip
    doc = json.loads(result.stdout)
    from nebsign.digest import sha256_bytes

    assert doc["subject"] == {
        "name": "release.json",
        "digest": {"sha256": sha256_bytes(b'{"files":[]}')},
    }


def test_credentials_come_from_file_or_env_and_are_never_printed(
    vuln_url: str, tmp_path: Path
) -> None:
    auth = tmp_path / "auth.txt"
    auth.write_text("X-Api-Key: file-secret-123\nCookie: sid=cookie-secret-456\n")
    result = dast(
        vuln_url + "/", "--checks", FAST, "--auth-file", str(auth), "--format", "json",
        env={"NEBSIGN_DAST_TOKEN": "env-secret-789"},
    )  # fmt: skip
    assert result.exit_code == 1
    for secret in ("file-secret-123", "cookie-secret-456", "env-secret-789"):
        assert secret not in result.stdout and secret not in result.stderr
    assert json.loads(result.stdout)["config"]["authenticated"] is True


def test_secret_header_on_argv_is_refused_exit_2(vuln_url: str) -> None:
    result = dast(vuln_url + "/", "--header", "Authorization: Bearer abc")
    assert_one_line_error(result, 2)
    assert "not accepted on the command line" in result.stderr and "abc" not in result.stderr


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    assert_one_line_error(dast("not a url"), 2)
    assert_one_line_error(dast("ftp://127.0.0.1/"), 2)
    result = dast("http://example.com/")
    assert_one_line_error(result, 2)
    assert "--scope" in result.stderr
    broken = tmp_path / "spec.yaml"
    broken.write_text("openapi: [unclosed\n")
    assert_one_line_error(dast("http://127.0.0.1:9/", "--openapi", str(broken)), 2)
    assert_one_line_error(dast("http://127.0.0.1:9/", "--checks", "nope"), 2)
    policy = tmp_path / "p.toml"
    policy.write_text("[dast]\nseverity = { high = 'MAYBE' }\n")
    assert_one_line_error(dast("http://127.0.0.1:9/", "--policy", str(policy)), 2)


def test_unreachable_target_is_a_pass_with_nothing_scanned_never_a_traceback() -> None:
    result = dast("http://127.0.0.1:9/", "--format", "json", "--max-requests", "5")
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["coverage"]["endpoints"] == 0 and doc["findings"] == []


def test_help_has_an_example() -> None:
    result = run_cli("scan", "dast", "--help")
    assert result.exit_code == 0 and "nebsign scan dast http://127.0.0.1:8080/" in result.stdout


def test_write_baseline_then_the_same_scan_passes(vuln_url: str, tmp_path: Path) -> None:
    target = vuln_url + "/search?q=x"
    common = ("--checks", "xss-reflected", "--max-pages", "1", "-q")
    baseline = tmp_path / "dast-baseline.toml"
    wrote = dast(
        target, *common, "--write-baseline", str(baseline), "--who", "a@b", "--why", "waf",
        "--until", "2099-12-31",
    )  # fmt: skip
    assert wrote.exit_code == 0, wrote.stderr
    again = dast(target, *common, "--baseline", str(baseline))
    assert again.exit_code == 0, again.stdout
    assert "accepted by the baseline" in again.stdout


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_auth_file_is_parsed_or_refused_as_input_error(text: str) -> None:
    import tempfile

    from nebsign.cli.scan_dast import _auth
    from nebsign.errors import InputError

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(text)
    try:
        headers, cookies = _auth(Path(fh.name))
        assert all(isinstance(v, str) for v in [*headers.values(), *cookies.values()])
    except InputError:
        pass
    finally:
        Path(fh.name).unlink()


def test_help_lists_every_registered_check() -> None:
    from nebsign.dast.checks import REGISTRY

    text = run_cli("scan", "dast", "--help").stdout
    assert all(name in text for name in REGISTRY)


def test_json_says_which_xss_findings_are_unconfirmed(vuln_url: str) -> None:
    result = dast(vuln_url + "/search?q=x", "--checks", "xss-reflected", "--max-pages", "1",
                  "--format", "json")  # fmt: skip
    xss = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "xss-reflected"]
    assert xss and all(f["properties"]["browser_confirmed"] is None for f in xss)


def test_write_baseline_creates_its_directory_as_sast_does(vuln_url: str, tmp_path: Path) -> None:
    baseline = tmp_path / "new" / "dast-baseline.toml"
    wrote = dast(
        vuln_url + "/search?q=x", "--checks", "xss-reflected", "--max-pages", "1", "-q",
        "--write-baseline", str(baseline), "--who", "a@b", "--why", "waf",
    )  # fmt: skip
    assert wrote.exit_code == 0, wrote.stderr
    assert "[[finding]]" in baseline.read_text()
