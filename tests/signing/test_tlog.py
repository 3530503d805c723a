"""Public-key bundles with transparency log entries: checked when present, required on demand."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import assert_one_line_error, run_cli
from signing.sigassets import (
    ARTIFACT_SHA,
    GOLDEN,
    KEY_IDS,
    artifact_bundle,
    golden_bundle,
    golden_policy,
)

from nebsign.bundle import Bundle
from nebsign.errors import InputError
from nebsign.keys import load_public_key
from nebsign.policy.trust import TrustPolicy
from nebsign.tlog import TlogInvalid
from nebsign.verify import TlogMissing, verify_artifact

TLOG = "artifact.bin.tlog.sigstore.json"


def _entry_variant(change) -> Bundle:  # type: ignore[no-untyped-def]
    raw = json.loads((GOLDEN / TLOG).read_bytes())
    change(raw["verificationMaterial"]["tlogEntries"][0])
    return Bundle.from_json(json.dumps(raw).encode())


def test_logged_bundle_verifies_and_counts() -> None:
    policy = golden_policy("policy-tlog.toml")
    assert verify_artifact(ARTIFACT_SHA, [golden_bundle(TLOG)], policy).signers == (
        KEY_IDS["ed25519-a"],
    )


def test_required_but_missing() -> None:
    with pytest.raises(TlogMissing, match="transparency log"):
        verify_artifact(
            ARTIFACT_SHA, [artifact_bundle("ed25519-a")], golden_policy("policy-tlog.toml")
        )


def test_checked_when_present_even_if_not_required() -> None:
    policy = golden_policy("policy-tlog.toml")
    key = load_public_key((GOLDEN / "keys/ed25519-a.pub").read_bytes())
    no_root = TrustPolicy.from_keys([key])
    with pytest.raises(InputError, match="trusted root"):
        verify_artifact(ARTIFACT_SHA, [golden_bundle(TLOG)], no_root)
    bad = _entry_variant(lambda e: e.update(integratedTime="1767225601"))
    with pytest.raises(TlogInvalid):
        verify_artifact(ARTIFACT_SHA, [bad], policy)


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.update(logIndex="2"),
        lambda e: e["inclusionProof"].update(treeSize="3"),
        lambda e: e["inclusionProof"].update(hashes=[]),
        lambda e: e["inclusionProof"].update(rootHash="A" * 43 + "="),
        lambda e: (e.pop("inclusionProof"), e.update(logIndex="0")),
        lambda e: e.update(kindVersion={"kind": "hashedrekord", "version": "0.0.2"}),
        lambda e: e.update(logId={"keyId": "A" * 43 + "="}),
        lambda e: e["inclusionProof"]["checkpoint"].update(
            envelope=e["inclusionProof"]["checkpoint"]["envelope"].replace("\n2\n", "\n3\n")
        ),
    ],
)
def test_tampered_entries(change) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((TlogInvalid, InputError)):
        verify_artifact(ARTIFACT_SHA, [_entry_variant(change)], golden_policy("policy-tlog.toml"))


def test_proof_is_required_promise_is_optional() -> None:
    """The inclusion proof + signed checkpoint prove inclusion; a promise alone is not enough."""
    policy = golden_policy("policy-tlog.toml")
    assert verify_artifact(
        ARTIFACT_SHA, [_entry_variant(lambda e: e.pop("inclusionPromise"))], policy
    ).signers
    with pytest.raises(TlogInvalid, match="inclusion proof"):
        verify_artifact(ARTIFACT_SHA, [_entry_variant(lambda e: e.pop("inclusionProof"))], policy)


def test_entry_for_another_signature_is_refused() -> None:
    """A valid log entry grafted onto a different (valid) signature does not match it."""
    logged = json.loads((GOLDEN / TLOG).read_bytes())
    other = json.loads((GOLDEN / "artifact.bin.ed25519-b.sigstore.json").read_bytes())
    other["verificationMaterial"]["tlogEntries"] = logged["verificationMaterial"]["tlogEntries"]
    policy = TrustPolicy.from_toml(
        (GOLDEN / "policy-2-of-3.toml").read_bytes().replace(b"threshold = 2", b"threshold = 1")
        + b'\n[sigstore]\ntrusted_root = "tlog/trusted_root.json"\nsha256 = "'
        + hashlib.sha256((GOLDEN / "tlog/trusted_root.json").read_bytes()).hexdigest().encode()
        + b'"\n',
        GOLDEN,
    )
    with pytest.raises(TlogInvalid, match="does not match"):
        verify_artifact(ARTIFACT_SHA, [Bundle.from_json(json.dumps(other).encode())], policy)


def test_cli_tlog_policy() -> None:
    art = str(GOLDEN / "artifact.bin")
    pol = str(GOLDEN / "policy-tlog.toml")
    ok = run_cli("verify", art, "--bundle", str(GOLDEN / TLOG), "--policy", pol)
    assert ok.exit_code == 0, ok.stderr
    plain = str(GOLDEN / "artifact.bin.ed25519-a.sigstore.json")
    missing = run_cli("verify", art, "--bundle", plain, "--policy", pol)
    assert_one_line_error(missing, 1)
    root = str(GOLDEN / "tlog/trusted_root.json")
    flags = run_cli("verify", art, "--bundle", str(GOLDEN / TLOG), "--key",
                    str(GOLDEN / "keys/ed25519-a.pub"), "--trusted-root", root)  # fmt: skip
    assert flags.exit_code == 0, flags.stderr
    # against the real production root the test log's entry is refused
    prod = run_cli("verify", art, "--bundle", str(GOLDEN / TLOG), "--key",
                   str(GOLDEN / "keys/ed25519-a.pub"))  # fmt: skip
    assert_one_line_error(prod, 1)


# ---- Rekor v2 (0.0.2) entries: inclusion proof + checkpoint, no signed entry timestamp ----------

V2 = {"artifact": "artifact.bin.tlog-v2.sigstore.json", "dsse": "sast.tlog-v2.sigstore.json"}


def test_rekor_v2_entries_verify() -> None:
    from nebsign.verify import verify_attestation

    policy = golden_policy("policy-tlog.toml")  # require_tlog = true
    assert verify_artifact(ARTIFACT_SHA, [golden_bundle(V2["artifact"])], policy).signers == (
        KEY_IDS["ed25519-a"],
    )
    assert verify_attestation(golden_bundle(V2["dsse"]), policy).covers(ARTIFACT_SHA)
    verified = verify_artifact(ARTIFACT_SHA, [golden_bundle(V2["dsse"])], policy, attestations=True)
    assert verified.signers == (KEY_IDS["ed25519-a"],)


@pytest.mark.parametrize("which", sorted(V2))
@pytest.mark.parametrize("field", ["digest", "content", "rawBytes"])
def test_rekor_v2_body_must_match_the_bundle(which: str, field: str) -> None:
    import base64

    from nebsign.verify import verify_attestation

    raw = json.loads((GOLDEN / V2[which]).read_bytes())
    entry = raw["verificationMaterial"]["tlogEntries"][0]
    body = base64.b64decode(entry["canonicalizedBody"])
    start = body.index(f'"{field}":"'.encode()) + len(field) + 4
    flipped = body[:start] + (b"B" if body[start : start + 1] != b"B" else b"C") + body[start + 1 :]
    entry["canonicalizedBody"] = base64.b64encode(flipped).decode()
    bundle = Bundle.from_json(json.dumps(raw).encode())
    policy = golden_policy("policy-tlog.toml")
    with pytest.raises(TlogInvalid):
        if which == "dsse":
            verify_attestation(bundle, policy)
        else:
            verify_artifact(ARTIFACT_SHA, [bundle], policy)


def test_cli_verifies_an_artifact_by_a_logged_v2_attestation() -> None:
    result = run_cli("verify", str(GOLDEN / "artifact.bin"), "--bundle", str(GOLDEN / V2["dsse"]),
                     "--policy", str(GOLDEN / "policy-tlog.toml"))  # fmt: skip
    assert result.exit_code == 0, result.stderr
