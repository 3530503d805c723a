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
