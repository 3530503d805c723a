"""``nebsign gate`` through a real process: exit codes 0/1/1/2, --format json, --explain,
--allow-inconclusive, signed GATE_V1 attestations and the 24 h rollout check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gatekit import EXAMPLES, generator, runs_json
from helpers import assert_one_line_error, run_cli

from nebsign.attest import GATE_V1
from nebsign.bundle import Bundle
from nebsign.digest import sha256_bytes
from nebsign.keys import generate_key, key_id, public_key_pem, save_private_key
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import verify_attestation

BASE = str(EXAMPLES / "staging-baseline.json")
PASS_C = str(EXAMPLES / "staging-current-pass.json")
FAIL_C = str(EXAMPLES / "staging-current-fail.json")
CANARY_OK = str(EXAMPLES / "canary-pass.om")
CANARY_BAD = str(EXAMPLES / "canary-fail.om")
ENV = {"NEBSIGN_PASSPHRASE": "correct horse"}


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    """An encrypted signing key and a trust policy naming it."""
    key = generate_key()
    key_path = tmp_path / "gate.key"
    save_private_key(key_path, key, b"correct horse")
    pub = key.public_key()
    trust = tmp_path / "trust.toml"
    trust.write_text(
        f'version = 1\nthreshold = 1\n[[keys]]\nid = "{key_id(pub)}"\n'
        f"pem = '''{public_key_pem(pub).decode()}'''\n"
    )
    return key_path, trust


def test_staging_pass_and_fail() -> None:
    ok = run_cli("gate", "staging", "--baseline", BASE, "--current", PASS_C)
    assert ok.exit_code == 0, ok.stderr
    assert "staging gate: PASS" in ok.stdout
    bad = run_cli("gate", "staging", "--baseline", BASE, "--current", FAIL_C, "--explain")
    assert_one_line_error(bad, 1)
    assert "order_match_latency_p99_us" in bad.stderr
    assert "metric" in bad.stdout and "interval" in bad.stdout  # the decision table
    assert "beyond-threshold" in bad.stdout


def test_canary_pass_and_fail_json() -> None:
    ok = run_cli("gate", "canary", "--metrics", CANARY_OK, "--format", "json")
    assert ok.exit_code == 0, ok.stderr
    pred = json.loads(ok.stdout)
    assert pred["verdict"] == "pass" and pred["gate"] == "canary"
    assert pred["window"]["hours"] == "4.167"
    raw = Path(CANARY_OK).read_bytes()
    assert pred["metrics_digest"] == f"sha256:{sha256_bytes(raw)}"
    for key in ("reason", "policy_digest", "tools", "counts", "metrics"):
        assert key in pred
    assert {"scipy", "prometheus_client", "nebsign"} <= set(pred["tools"])
    bad = run_cli("gate", "canary", "--metrics", CANARY_BAD, "--format", "json")
    assert_one_line_error(bad, 1)
    assert json.loads(bad.stdout)["verdict"] == "fail"


def test_inconclusive_exits_1_unless_allowed(tmp_path: Path) -> None:
    b, c = tmp_path / "b.json", tmp_path / "c.json"
    b.write_bytes(runs_json({"api_latency_p50_ms": [1, 1, 1]}))
    c.write_bytes(runs_json({"api_latency_p50_ms": [1, 1, 1]}))
    policy = tmp_path / "p.toml"
    policy.write_text("[gates.staging]\n")
    args = ["gate", "staging", "--baseline", str(b), "--current", str(c), "--policy", str(policy)]
    res = run_cli(*args)
    assert_one_line_error(res, 1)
    assert "INCONCLUSIVE" in res.stderr and "too-few-runs" in res.stderr
    allowed = run_cli(*args, "--allow-inconclusive")
    assert allowed.exit_code == 0
    assert "warning" in allowed.stderr and "INCONCLUSIVE" in allowed.stderr


@pytest.mark.parametrize(
    "content",
    [b"a{ 1\n", b'{"schema": "x"}', b"a 1\na 1\n", b"\x00\xff", b"a 1 1767225600\n"],
    ids=["syntax", "schema", "duplicate", "binary", "seconds-as-ms"],
)
def test_malformed_metrics_exit_2_one_line(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.prom"
    bad.write_bytes(content)
    assert_one_line_error(run_cli("gate", "canary", "--metrics", str(bad)), 2)
    assert_one_line_error(run_cli("gate", "staging", "--baseline", str(bad), "--current", BASE), 2)


def test_bad_policy_and_usage_exit_2(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[gates.staging]\ntolerance = "five"\n')
    res = run_cli("gate", "staging", "--baseline", BASE, "--current", BASE, "--policy", str(policy))
    assert_one_line_error(res, 2)
    assert_one_line_error(run_cli("gate", "canary", "--metrics", CANARY_OK, "--attest", "x"), 2)
    assert_one_line_error(run_cli("gate", "canary"), 2)


def test_help_has_examples() -> None:
    for sub in ("staging", "canary", "regional", "rollout"):
        res = run_cli("gate", sub, "--help")
        assert res.exit_code == 0 and "Example" in res.stdout and "nebsign gate" in res.stdout


def _attest(
    tmp_path: Path, keys: tuple[Path, Path], gate: str, metrics: str, manifest: Path, at: int
) -> Path:
    out = tmp_path / f"{gate}-{at}.sigstore.json"
    res = run_cli(
        "gate",
        gate,
        "--metrics",
        metrics,
        "--subject-manifest",
        str(manifest),
        "--attest",
        str(out),
        "--key",
        str(keys[0]),
        "--allow-inconclusive",
        env={**ENV, "SOURCE_DATE_EPOCH": str(at)},
    )
    assert res.exit_code in (0, 1), res.stderr
    return out


def test_attestation_is_signed_and_verifies(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_bytes(b'{"files": []}')
    path = _attest(tmp_path, keys, "canary", CANARY_OK, manifest, 1_767_300_000)
    trust = TrustPolicy.from_toml(keys[1].read_bytes(), tmp_path)
    statement = verify_attestation(Bundle.from_json(path.read_bytes()), trust)
    assert statement.predicate_type == GATE_V1
    assert statement.subjects[0].sha256 == sha256_bytes(manifest.read_bytes())
    pred = statement.predicate
    assert pred["verdict"] == "pass" and pred["gate"] == "canary"
    assert pred["decided_at"] == "2026-01-01T20:40:00Z"
    assert pred["window"]["start"] == "2026-01-01T00:00:00Z"
    row = next(m for m in pred["metrics"] if m["name"] == "http_5xx")
    assert row["tolerance_or_threshold"] == "< 0.1%"
    # a failing gate is attested too (exit 1), with its verdict
    bad = _attest(tmp_path, keys, "canary", CANARY_BAD, manifest, 1_767_300_001)
    assert verify_attestation(Bundle.from_json(bad.read_bytes()), trust).predicate["verdict"] == (
        "fail"
    )


def test_rollout_limit_from_signed_gate_times(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_bytes(b'{"files": []}')
    regional_metrics = tmp_path / "regional.om"
    regional_metrics.write_text(generator().canary(minutes=12 * 60 + 5))
    t0 = 1_767_300_000
    canary = _attest(tmp_path, keys, "canary", CANARY_OK, manifest, t0)
    regional = _attest(tmp_path, keys, "regional", str(regional_metrics), manifest, t0 + 13 * 3600)
    args = [
        "gate",
        "rollout",
        str(manifest),
        "--trust-policy",
        str(keys[1]),
        "--attestation",
        str(canary),
        "--attestation",
        str(regional),
    ]
    ok = run_cli(*args, env={"SOURCE_DATE_EPOCH": str(t0 + 24 * 3600)})
    assert ok.exit_code == 0, ok.stderr
    late = run_cli(*args, env={"SOURCE_DATE_EPOCH": str(t0 + 24 * 3600 + 1)})
    assert_one_line_error(late, 1)
    assert "more than the limit" in late.stderr
    no_regional = run_cli(*args[:-2], env={"SOURCE_DATE_EPOCH": str(t0 + 3600)})
    assert_one_line_error(no_regional, 1)


def test_untrusted_names_are_escaped(tmp_path: Path) -> None:
    series = {"name": "lat", "labels": {"route": "\x1b[31m\nEVIL"}, "samples": [1, 1, 1, 1, 1]}
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"schema": "https://nebsign.dev/metrics/v1", "series": [series]}))
    policy = tmp_path / "p.toml"
    policy.write_text("[gates.staging]\n")
    res = run_cli(
        "gate",
        "staging",
        "--baseline",
        str(f),
        "--current",
        str(f),
        "--policy",
        str(policy),
        "--explain",
    )
    assert res.exit_code == 0, res.stderr
    assert "\x1b" not in res.stdout and "\nEVIL" not in res.stdout
    # the one escaping helper (_internal/display.py): ESC as \x1b, a newline as \n
    assert 'lat{route="\\x1b[31m\\nEVIL"}' in res.stdout
    bad = dict(series, name="x\x1by")
    f.write_text(json.dumps({"schema": "https://nebsign.dev/metrics/v1", "series": [bad]}))
    res = run_cli("gate", "staging", "--baseline", str(f), "--current", str(f))
    assert_one_line_error(res, 2)
    assert "\x1b" not in res.stderr


def test_missing_gates_extra_exits_3(tmp_path: Path) -> None:
    """Without scipy (shadowed here by a module that cannot import) the gate is an
    environment fault with the install line, not a traceback."""
    (tmp_path / "scipy").mkdir()
    (tmp_path / "scipy" / "__init__.py").write_text("raise ImportError('not installed')\n")
    res = run_cli("gate", "canary", "--metrics", CANARY_OK, env={"PYTHONPATH": str(tmp_path)})
    assert_one_line_error(res, 3)
    assert "nebsign[gates]" in res.stderr


def test_rollout_json_on_failure(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_bytes(b"{}")
    canary = _attest(tmp_path, keys, "canary", CANARY_OK, manifest, 1_767_300_000)
    res = run_cli(
        "gate",
        "rollout",
        str(manifest),
        "--trust-policy",
        str(keys[1]),
        "--attestation",
        str(canary),
        "--format",
        "json",
        env={"SOURCE_DATE_EPOCH": "1767300100"},
    )
    assert_one_line_error(res, 1)
    out = json.loads(res.stdout)
    assert out["verdict"] == "fail" and "regional" in out["reason"]
