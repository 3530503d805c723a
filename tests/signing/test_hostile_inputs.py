"""Issue 17.4: hostile input is a refusal (1) or bad input (2), never "internal error" (3).

Each case below gave ``internal error ... (a bug)``, exit 3, before the fix.
Every run also checks the output: one error line, no traceback, and with
``--format json`` a stdout that parses as JSON.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest
import rfc8785
from helpers import SHARED, Result, run_cli
from signing.sigassets import GOLDEN

from nebsign.bundle import IN_TOTO_PAYLOAD_TYPE, Bundle, DsseEnvelope, pae
from nebsign.keys import key_id, load_private_key
from nebsign.signing import sign_message

DATA = SHARED / "testdata" / "sigstore"
KEY = GOLDEN / "keys/ed25519-a.key"
PUB = GOLDEN / "keys/ed25519-a.pub"


def _refused(result: Result, codes: tuple[int, ...] = (1, 2)) -> None:
    assert result.exit_code in codes, (result.exit_code, result.stdout[-500:], result.stderr[-500:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("nebsign: error: "), result.stderr[-500:]
    result.stderr.encode("utf-8")  # printable: no lone surrogate reached the terminal


def _json_ok(result: Result) -> None:
    _refused(result)
    # Whatever is reported is valid JSON. (A JSON report on every outcome of every
    # command is issue 9.17, the CLI's; some refusals still print nothing here.)
    if result.stdout_bytes.strip():
        json.loads(result.stdout_bytes)


# ---- non-UTF-8 directory names with the C loop ------------------------------------------------


@pytest.mark.parametrize("pure", ["", "1"])
def test_non_utf8_directory_name(tmp_path: Path, pure: str) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "ok").write_bytes(b"x")
    env = {"NEBSIGN_PURE_PYTHON": pure} if pure else {}
    made = run_cli("manifest", "create", str(tree), "-o", str(tmp_path / "m.json"), env=env)
    assert made.exit_code == 0, made.stderr
    bad = os.path.join(os.fsencode(tree), b"\xff")
    os.mkdir(bad)
    with open(os.path.join(bad, b"f"), "wb") as fh:
        fh.write(b"y")
    for args in (
        ["manifest", "create", str(tree), "-o", str(tmp_path / "n.json")],
        ["manifest", "verify", str(tmp_path / "m.json"), str(tree)],
    ):
        result = run_cli(*args, env=env)
        _refused(result)


# ---- transparency log entries are not signed: any shape ---------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        {"data": {"hash": "a string"}},
        {"data": "a string", "signature": []},
        {"data": {"hash": {"value": 1}}, "signature": {"publicKey": "x"}},
        [],
    ],
)
def test_tlog_body_of_any_shape(tmp_path: Path, spec: object) -> None:
    doc = json.loads((GOLDEN / "artifact.bin.tlog.sigstore.json").read_bytes())
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": spec}
    entry["canonicalizedBody"] = base64.b64encode(rfc8785.dumps(body)).decode()
    (tmp_path / "b.json").write_bytes(rfc8785.dumps(doc))
    result = run_cli("verify", str(GOLDEN / "artifact.bin"), "--bundle", str(tmp_path / "b.json"),
                     "--policy", str(GOLDEN / "policy-tlog.toml"))  # fmt: skip
    _refused(result, (1,))


# ---- keyless checkpoints: edited signature lines ----------------------------------------------

KEYLESS = DATA / "bundle_v3.txt.sigstore"
needs_keyless = pytest.mark.skipif(not KEYLESS.exists(), reason=f"{KEYLESS} not present")


@needs_keyless
@pytest.mark.parametrize("edit", ["drop two base64 characters", "non-ASCII", "not base64"])
def test_keyless_checkpoint_edits(tmp_path: Path, edit: str) -> None:
    doc = json.loads(KEYLESS.read_bytes())
    cp = doc["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
    note, sigs = cp["envelope"].split("\n\n")
    line = sigs.rstrip("\n")
    if edit == "drop two base64 characters":
        line = line[:-3] + line[-1:]
    elif edit == "non-ASCII":
        line = line[:-2] + "é" + line[-1:]
    else:
        line = line[:-6] + "!!!!" + line[-2:]
    cp["envelope"] = f"{note}\n\n{line}\n"
    (tmp_path / "b.json").write_text(json.dumps(doc))
    result = run_cli("verify", str(DATA / "bundle_v3.txt"), "--bundle", str(tmp_path / "b.json"),
                     "--staging", "--identity", "william@yossarian.net",
                     "--issuer", "https://github.com/login/oauth")  # fmt: skip
    _refused(result)


# ---- lone surrogates and out-of-range numbers --------------------------------------------------


def test_key_hint_with_a_lone_surrogate(tmp_path: Path) -> None:
    raw = (GOLDEN / "artifact.bin.ed25519-a.sigstore.json").read_bytes()
    hint = json.loads(raw)["verificationMaterial"]["publicKey"]["hint"]
    (tmp_path / "b.json").write_bytes(raw.replace(hint.encode(), b"\\udc80" + hint[6:].encode()))
    args = ["verify", str(GOLDEN / "artifact.bin"), "--bundle", str(tmp_path / "b.json"),
            "--key", str(PUB)]  # fmt: skip
    _refused(run_cli(*args))
    _json_ok(run_cli(*args, "--format", "json"))
    shutil.copy(GOLDEN / "artifact.bin", tmp_path / "a.bin")
    shutil.copy(tmp_path / "b.json", tmp_path / "a.bin.sigstore.json")
    several = ["verify", str(tmp_path / "a.bin"), str(GOLDEN / "artifact.bin"), "--key", str(PUB)]
    _refused(run_cli(*several))
    _json_ok(run_cli(*several, "--format", "json"))


def _signed_payload(tmp_path: Path, payload: bytes) -> Path:
    key = load_private_key(KEY.read_bytes(), None)
    kid = key_id(key.public_key())
    signature = sign_message(key, pae(IN_TOTO_PAYLOAD_TYPE, payload))
    bundle = Bundle(DsseEnvelope(payload, IN_TOTO_PAYLOAD_TYPE, signature, kid), kid)
    out = tmp_path / "att.sigstore.json"
    out.write_bytes(bundle.to_json())
    return out


def _statement(name: str, predicate: str) -> bytes:
    sha = "a" * 64
    return (
        '{"_type":"https://in-toto.io/Statement/v1","predicate":' + predicate + ","
        '"predicateType":"https://nebsign.dev/attestation/sast/v1",'
        '"subject":[{"digest":{"sha256":"' + sha + '"},"name":"' + name + '"}]}'
    ).encode()


@pytest.mark.parametrize(
    ("name", "predicate"),
    [
        ("\\udc80evil", '{"verdict":"pass"}'),
        ("app", '{"verdict":"\\ud800"}'),
        ("app", '{"score":1e999}'),
        ("app", '{"score":-1e999}'),
    ],
)
def test_signed_statement_with_hostile_strings_or_numbers(
    tmp_path: Path, name: str, predicate: str
) -> None:
    bundle = _signed_payload(tmp_path, _statement(name, predicate))
    args = ["attest", "verify", str(bundle), "--key", str(PUB)]
    result = run_cli(*args)
    _refused(result, (2,))
    assert "OK" not in result.stdout
    _json_ok(run_cli(*args, "--format", "json"))


# ---- policies ----------------------------------------------------------------------------------


def test_deeply_nested_policy(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text("version = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    result = run_cli("verify", str(GOLDEN / "artifact.bin"), "--policy", str(tmp_path / "p.toml"))
    _refused(result, (2,))
