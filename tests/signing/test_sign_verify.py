"""Sign -> verify round trips (Ed25519, P-256; artifacts, manifests, statements) and errors."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli
from signing.sigassets import ARTIFACT_SHA, GOLDEN, KEY_IDS, artifact_bundle, golden_policy

from nebsign.attest import SAST_V1, InvalidStatement, Statement, Subject
from nebsign.bundle import Bundle, InvalidBundle
from nebsign.digest import sha256_bytes, sha256_file
from nebsign.errors import InputError
from nebsign.keys import KeyKind, generate_key, key_id
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import sign_digest, sign_message, sign_statement
from nebsign.tree import build_manifest
from nebsign.verify import (
    DigestMismatch,
    KeyExpired,
    SignatureMismatch,
    UntrustedKey,
    verify_artifact,
    verify_attestation,
)

OTHER = "0" * 64


@pytest.mark.parametrize("kind", list(KeyKind))
def test_artifact_roundtrip(kind: KeyKind) -> None:
    key = generate_key(kind)
    bundle = Bundle.from_json(sign_digest(ARTIFACT_SHA, key).to_json())
    assert bundle.public_key_hint == key_id(key.public_key())
    policy = TrustPolicy.from_keys([key.public_key()])
    assert verify_artifact(ARTIFACT_SHA, [bundle], policy).signers == (key_id(key.public_key()),)
    with pytest.raises(DigestMismatch, match="tampered artifact"):
        verify_artifact(OTHER, [bundle], policy)


@pytest.mark.parametrize("kind", list(KeyKind))
def test_statement_roundtrip(kind: KeyKind) -> None:
    key = generate_key(kind)
    stmt = Statement((Subject("a", ARTIFACT_SHA),), SAST_V1, {"verdict": "pass"})
    bundle = Bundle.from_json(sign_statement(stmt, key).to_json())
    assert verify_attestation(bundle, TrustPolicy.from_keys([key.public_key()])) == stmt
    with pytest.raises(UntrustedKey):
        verify_attestation(bundle, TrustPolicy.from_keys([generate_key().public_key()]))


def test_manifest_roundtrip(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "release", tmp_path / "release")
    manifest = build_manifest(tmp_path / "release", name="demo", version="1.0.0")
    assert manifest.to_json() == (GOLDEN / "release.json").read_bytes()
    signed = Bundle.from_json((GOLDEN / "release.json.sigstore.json").read_bytes())
    policy = golden_policy("policy-expired.toml")
    verified = verify_artifact(
        sha256_bytes(manifest.to_json()), [signed], policy, now=datetime(2026, 1, 2, tzinfo=UTC)
    )
    assert verified.signers == (KEY_IDS["ed25519-a"],)


def test_deterministic_bundles() -> None:
    for kind in KeyKind:
        key = generate_key(kind)
        assert sign_digest(ARTIFACT_SHA, key).to_json() == sign_digest(ARTIFACT_SHA, key).to_json()


def test_bundle_key_is_never_used() -> None:
    """A bundle that names an untrusted key id fails even if it verifies with that key."""
    attacker = generate_key()
    bundle = sign_digest(ARTIFACT_SHA, attacker)
    with pytest.raises(UntrustedKey, match="expected"):
        verify_artifact(ARTIFACT_SHA, [bundle], golden_policy("policy-2-of-3.toml"))
    # forging the hint of a trusted key does not help: the trusted key must verify
    forged = Bundle(content=bundle.content, public_key_hint=KEY_IDS["ed25519-a"])
    policy = TrustPolicy.from_toml(
        b"version = 1\n" + (GOLDEN / "policy-expired.toml").read_bytes().split(b"\n", 2)[2],
        GOLDEN,
    )
    with pytest.raises(SignatureMismatch):
        verify_artifact(ARTIFACT_SHA, [forged], policy, now=datetime(2026, 1, 2, tzinfo=UTC))
    # no hint: every trusted key is tried, none verifies
    bare = Bundle(content=bundle.content, public_key_hint=None)
    with pytest.raises(SignatureMismatch):
        verify_artifact(ARTIFACT_SHA, [bare], golden_policy("policy-2-of-3.toml"))


def test_expired_key() -> None:
    policy = golden_policy("policy-expired.toml")
    bundle = artifact_bundle("ed25519-a")
    ok = verify_artifact(ARTIFACT_SHA, [bundle], policy, now=datetime(2026, 5, 31, tzinfo=UTC))
    assert ok.signers == (KEY_IDS["ed25519-a"],) and ok.sha256 == ARTIFACT_SHA
    with pytest.raises(KeyExpired, match="expired"):
        verify_artifact(ARTIFACT_SHA, [bundle], policy, now=datetime(2026, 6, 2, tzinfo=UTC))


def test_kind_confusion_is_refused() -> None:
    policy = TrustPolicy.from_keys([generate_key().public_key()])
    with pytest.raises(InvalidBundle):
        verify_artifact(
            ARTIFACT_SHA, [Bundle.from_json((GOLDEN / "sast.sigstore.json").read_bytes())], policy
        )
    with pytest.raises(InvalidBundle):
        verify_attestation(artifact_bundle("ed25519-a"), policy)
    with pytest.raises(InputError):
        verify_artifact(ARTIFACT_SHA, [], policy)


def test_statement_is_parsed_only_after_verification() -> None:
    key = generate_key()
    bad_payload = b'{"not": "a statement"}'
    from nebsign.bundle import IN_TOTO_PAYLOAD_TYPE, DsseEnvelope, pae

    sig = sign_message(key, pae(IN_TOTO_PAYLOAD_TYPE, bad_payload))
    bundle = Bundle(
        content=DsseEnvelope(bad_payload, IN_TOTO_PAYLOAD_TYPE, sig),
        public_key_hint=key_id(key.public_key()),
    )
    with pytest.raises(UntrustedKey):  # untrusted signer: the payload is never looked at
        verify_attestation(bundle, TrustPolicy.from_keys([generate_key().public_key()]))
    with pytest.raises(InvalidStatement):  # trusted signer, malformed payload
        verify_attestation(bundle, TrustPolicy.from_keys([key.public_key()]))


# ---- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copytree(GOLDEN, tmp_path / "g")
    return tmp_path / "g"


def test_cli_sign_verify_p256_and_ed25519(work: Path) -> None:
    for name in ("ed25519-b", "p256-a"):
        target = work / f"copy-{name}.bin"
        shutil.copy(work / "artifact.bin", target)
        signed = run_cli("sign", str(target), "--key", str(work / f"keys/{name}.key"))
        assert signed.exit_code == 0, signed.stderr
        bundle = Path(f"{target}.sigstore.json")
        assert bundle.read_bytes() == (work / f"artifact.bin.{name}.sigstore.json").read_bytes()
        ok = run_cli("verify", str(target), "--key", str(work / f"keys/{name}.pub"))
        assert ok.exit_code == 0, ok.stderr
        assert KEY_IDS[name] in ok.stdout


def test_cli_errors_are_distinct_lines(work: Path) -> None:
    art = str(work / "artifact.bin")
    bundle = str(work / "artifact.bin.ed25519-a.sigstore.json")
    wrong_key = run_cli("verify", art, "--bundle", bundle, "--key", str(work / "keys/p256-a.pub"))
    assert_one_line_error(wrong_key, 1)
    assert "wrong key" in wrong_key.stderr and KEY_IDS["ed25519-a"] in wrong_key.stderr
    assert KEY_IDS["p256-a"] in wrong_key.stderr

    (work / "artifact.bin").write_bytes(b"tampered")
    tampered = run_cli("verify", art, "--bundle", bundle, "--key", str(work / "keys/ed25519-a.pub"))
    assert_one_line_error(tampered, 1)
    assert "tampered artifact" in tampered.stderr

    shutil.copy(GOLDEN / "artifact.bin", art)
    expired = run_cli(
        "verify", art, "--bundle", bundle, "--policy", str(work / "policy-expired.toml")
    )
    assert_one_line_error(expired, 1)
    assert "expired" in expired.stderr

    (work / "bad.json").write_text('{"mediaType": 1}')
    malformed = run_cli(
        "verify", art, "--bundle", str(work / "bad.json"), "--key", str(work / "keys/ed25519-a.pub")
    )
    assert_one_line_error(malformed, 2)
    assert "media type" in malformed.stderr

    sig = json.loads((work / bundle).read_text())
    sig["messageSignature"]["signature"] = sig["messageSignature"]["signature"][::-1]
    (work / "badsig.json").write_text(json.dumps(sig))
    badsig = run_cli(
        "verify",
        art,
        "--bundle",
        str(work / "badsig.json"),
        "--key",
        str(work / "keys/ed25519-a.pub"),
    )
    assert badsig.exit_code in (1, 2)
    assert_one_line_error(badsig, badsig.exit_code)

    lines = {r.stderr.strip() for r in (wrong_key, tampered, expired, malformed)}
    assert len(lines) == 4

    usage = run_cli("verify", art)
    assert_one_line_error(usage, 2)
    missing = run_cli("verify", str(work / "nope.bin"), "--key", str(work / "keys/ed25519-a.pub"))
    assert_one_line_error(missing, 2)


def test_cli_many_files_each_reported(work: Path) -> None:
    files = []
    for i in range(3):
        f = work / f"f{i}.txt"
        f.write_text(f"file {i}\n")
        files.append(str(f))
    assert run_cli("sign", *files, "--key", str(work / "keys/ed25519-c.key")).exit_code == 0
    pub = str(work / "keys/ed25519-c.pub")
    ok = run_cli("verify", *files, "--key", pub, "--format", "json")
    assert ok.exit_code == 0
    report = json.loads(ok.stdout)
    assert report["ok"] and [r["ok"] for r in report["results"]] == [True] * 3
    Path(files[1]).write_text("changed\n")
    bad = run_cli("verify", *files, "--key", pub)
    assert bad.exit_code == 1
    assert bad.stdout.count("OK ") == 2 and "FAIL" in bad.stdout and files[1] in bad.stdout
    assert_one_line_error(bad, 1)
    # explicit pairs, in order
    pairs = run_cli("verify", files[0], files[2], "--bundle", f"{files[0]}.sigstore.json",
                    "--bundle", f"{files[2]}.sigstore.json", "--key", pub)  # fmt: skip
    assert pairs.exit_code == 0, pairs.stderr
    swapped = run_cli("verify", files[0], files[2], "--bundle", f"{files[2]}.sigstore.json",
                      "--bundle", f"{files[0]}.sigstore.json", "--key", pub)  # fmt: skip
    assert swapped.exit_code == 1


def test_cli_signed_manifest_then_tree(work: Path) -> None:
    manifest = str(work / "release.json")
    args = ["verify", manifest, "--manifest", "--root", str(work / "release"),
            "--key", str(work / "keys/ed25519-a.pub")]  # fmt: skip
    ok = run_cli(*args)
    assert ok.exit_code == 0, ok.stderr
    assert "entries match" in ok.stdout
    (work / "release/app/main.py").write_text("print('evil')\n")
    changed = run_cli(*args)
    assert_one_line_error(changed, 1)
    # a manifest edited to match the tampered tree fails its signature
    data = json.loads((work / "release.json").read_text())
    new = sha256_file(work / "release/app/main.py")
    for entry in data["files"]:
        if entry["path"] == "app/main.py":
            entry["sha256"], entry["size"] = new.sha256, new.size
    from nebsign._internal.canonical import canonical_json

    (work / "release.json").write_bytes(canonical_json(data))
    forged = run_cli(*args)
    assert_one_line_error(forged, 1)
    assert "tampered" in forged.stderr


def test_cli_signed_manifest_signature_decides_before_the_tree(work: Path) -> None:
    """The tree starts hashing early, but the signature's verdict comes first."""
    manifest = str(work / "release.json")
    os.mkfifo(work / "release" / "fifo")
    wrong_key = run_cli("verify", manifest, "--manifest", "--root", str(work / "release"),
                        "--key", str(work / "keys/ed25519-c.pub"))  # fmt: skip
    assert_one_line_error(wrong_key, 1)  # not the FIFO's exit 2: the signature failed first
    right_key = run_cli("verify", manifest, "--manifest", "--root", str(work / "release"),
                        "--key", str(work / "keys/ed25519-a.pub"))  # fmt: skip
    assert_one_line_error(right_key, 2)
    assert "FIFO" in right_key.stderr


def test_cli_attest_create_verify(work: Path) -> None:
    (work / "pred.json").write_text('{"verdict": "pass", "findings": []}')
    out = work / "att.sigstore.json"
    made = run_cli("attest", "create", "--type", "sast", "--predicate", str(work / "pred.json"),
                   "--subject", str(work / "artifact.bin"), "--key", str(work / "keys/p256-a.key"),
                   "-o", str(out))  # fmt: skip
    assert made.exit_code == 0, made.stderr
    pub = str(work / "keys/p256-a.pub")
    art = str(work / "artifact.bin")
    ok = run_cli("attest", "verify", str(out), "--key", pub, "--subject", art,
                 "--type", "sast", "--format", "json")  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["predicateType"] == SAST_V1
    wrong_type = run_cli("attest", "verify", str(out), "--key", pub, "--type", "dast")
    assert_one_line_error(wrong_type, 1)
    other = run_cli("attest", "verify", str(out), "--key", str(work / "keys/ed25519-a.pub"))
    assert_one_line_error(other, 1)
    policy = run_cli("attest", "verify", str(work / "sast.sigstore.json"), "--policy",
                     str(work / "policy-attest.toml"))  # fmt: skip
    assert policy.exit_code == 0, policy.stderr


def test_cli_expired_signed_manifest(work: Path) -> None:
    manifest = work / "old.json"
    made = run_cli("manifest", "create", str(work / "release"), "--name", "demo",
                   "--expires", "2020-01-01T00:00:00Z", "-o", str(manifest))  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert run_cli("sign", str(manifest), "--key", str(work / "keys/ed25519-a.key")).exit_code == 0
    result = run_cli("verify", str(manifest), "--manifest", "--root", str(work / "release"),
                     "--key", str(work / "keys/ed25519-a.pub"))  # fmt: skip
    assert_one_line_error(result, 1)
    assert "expired" in result.stderr


def test_required_predicates() -> None:
    from nebsign.verify import MissingAttestation, verify_attestations

    policy = golden_policy("policy-attest.toml")
    sast = Bundle.from_json((GOLDEN / "sast.sigstore.json").read_bytes())
    prov = Bundle.from_json((GOLDEN / "provenance.sigstore.json").read_bytes())
    assert len(verify_attestations(ARTIFACT_SHA, [sast, prov], policy)) == 2
    with pytest.raises(MissingAttestation, match=r"slsa\.dev/provenance"):
        verify_attestations(ARTIFACT_SHA, [sast], policy)
    with pytest.raises(MissingAttestation):  # statements about another artifact do not count
        verify_attestations(OTHER, [sast, prov], policy)


def test_cli_json_reports_failures_too(work: Path) -> None:
    art = str(work / "artifact.bin")
    bundle = str(work / "artifact.bin.ed25519-a.sigstore.json")
    result = run_cli("verify", art, "--bundle", bundle, "--key", str(work / "keys/p256-a.pub"),
                     "--format", "json")  # fmt: skip
    assert_one_line_error(result, 1)
    report = json.loads(result.stdout)
    assert report["ok"] is False and "wrong key" in report["results"][0]["error"]
    mixed = run_cli("verify", art, "--bundle", bundle, "--policy",
                    str(work / "policy-2-of-3.toml"), "--threshold", "2")  # fmt: skip
    assert_one_line_error(mixed, 2)
