"""In-process tests of the verification core at its boundaries (docs/mutants.md).

Mutation testing runs only in-process tests against mutants; these pin the exact
instant a key expires, which keys are tried for which hint, purposes, and what each
refusal says, so that a one-character change to ``nebsign/verify.py`` fails a test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from signing.sigassets import ARTIFACT_SHA, GOLDEN, KEY_IDS, artifact_bundle, golden_policy

from nebsign.bundle import Bundle
from nebsign.keys import load_public_key
from nebsign.policy.trust import TrustPolicy
from nebsign.verify import (
    KeyExpired,
    SignatureMismatch,
    UntrustedKey,
    verify_artifact,
)

NOT_AFTER = datetime(2026, 6, 1, tzinfo=UTC)  # policy-expired.toml


def _pem(name: str) -> str:
    return (GOLDEN / "keys" / f"{name}.pub").read_text()


def _policy(*keys: tuple[str, str]) -> TrustPolicy:
    """A policy trusting each (key name, extra TOML lines)."""
    text = "version = 1\n"
    for name, extra in keys:
        text += f'[[keys]]\nid = "{KEY_IDS[name]}"\npem = """\n{_pem(name)}"""\n{extra}\n'
    return TrustPolicy.from_toml(text.encode(), GOLDEN)


def test_a_key_is_valid_up_to_its_not_after_instant_and_not_after() -> None:
    policy = golden_policy("policy-expired.toml")
    bundle = artifact_bundle("ed25519-a")
    ok = verify_artifact(ARTIFACT_SHA, [bundle], policy, now=NOT_AFTER)  # the last valid instant
    assert ok.signers == (KEY_IDS["ed25519-a"],)
    with pytest.raises(KeyExpired) as info:
        verify_artifact(ARTIFACT_SHA, [bundle], policy, now=NOT_AFTER + timedelta(microseconds=1))
    assert info.value.message == (
        f"expired: trusted key {KEY_IDS['ed25519-a']} was valid until 2026-06-01T00:00:00Z"
    )


def test_without_now_the_clock_decides() -> None:
    bundle = artifact_bundle("ed25519-a")
    with pytest.raises(KeyExpired):  # today is after 2026-06-01 in this suite's world
        verify_artifact(ARTIFACT_SHA, [bundle], golden_policy("policy-expired.toml"))
    future = _policy(("ed25519-a", 'not_after = "2999-01-01T00:00:00Z"'))
    assert verify_artifact(ARTIFACT_SHA, [bundle], future).signers == (KEY_IDS["ed25519-a"],)


def test_a_foreign_hint_tries_the_one_trusted_key_only() -> None:
    good = artifact_bundle("ed25519-a")
    assert good.public_key_hint is not None
    one = _policy(("ed25519-a", ""))
    for hint in ("cosign-key", "a" * 63, "a" * 65):  # not a 64-hex nebsign key id
        foreign = Bundle(content=good.content, public_key_hint=hint)
        assert verify_artifact(ARTIFACT_SHA, [foreign], one).signers == (KEY_IDS["ed25519-a"],)
    two = _policy(("ed25519-a", ""), ("ed25519-b", ""))
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [Bundle(content=good.content, public_key_hint="x")], two)
    assert info.value.message == (
        "wrong key: bundle was signed by key id x; expected "
        + ", ".join(sorted([KEY_IDS["ed25519-a"], KEY_IDS["ed25519-b"]]))
    )
    # a 64-character hint is a key id: an unknown one is refused even with one key
    unknown = Bundle(content=good.content, public_key_hint="f" * 64)
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [unknown], one)
    assert info.value.message == (
        f"wrong key: bundle was signed by key id {'f' * 64}; expected {KEY_IDS['ed25519-a']}"
    )


def test_no_hint_tries_every_trusted_key_and_says_how_many() -> None:
    good = artifact_bundle("ed25519-a")
    bare = Bundle(content=good.content, public_key_hint=None)
    both = _policy(("ed25519-b", ""), ("ed25519-a", ""))
    assert verify_artifact(ARTIFACT_SHA, [bare], both).signers == (KEY_IDS["ed25519-a"],)
    others = _policy(("ed25519-b", ""), ("ed25519-c", ""))
    with pytest.raises(SignatureMismatch) as info:
        verify_artifact(ARTIFACT_SHA, [bare], others)
    assert info.value.message.startswith(
        "signature does not verify with any of the 2 trusted keys (tampered artifact"
    )
    single = _policy(("ed25519-b", ""))
    with pytest.raises(SignatureMismatch) as info:
        verify_artifact(ARTIFACT_SHA, [bare], single)
    assert info.value.message == (
        f"signature does not verify with key {KEY_IDS['ed25519-b']} "
        "(tampered artifact, signature or bundle)"
    )


def test_purposes_decide_which_keys_count() -> None:
    bundle = artifact_bundle("ed25519-a")
    att_only = _policy(("ed25519-a", 'purposes = ["attestations"]'))
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [bundle], att_only)
    assert info.value.message.startswith(
        f"wrong purpose: key {KEY_IDS['ed25519-a']} is trusted for "
    )
    assert info.value.message.endswith(" only, not artifacts")
    bare = Bundle(content=bundle.content, public_key_hint=None)
    with pytest.raises(UntrustedKey) as info:
        verify_artifact(ARTIFACT_SHA, [bare], att_only)
    assert info.value.message == (
        "bundle is signed with a public key but the policy trusts no key for artifacts"
    )
    art = _policy(("ed25519-a", 'purposes = ["artifacts"]'))
    assert verify_artifact(ARTIFACT_SHA, [bare], art).signers == (KEY_IDS["ed25519-a"],)


def test_a_public_key_from_pem_verifies_like_the_policy_key() -> None:
    key = load_public_key(_pem("ed25519-a").encode())
    policy = TrustPolicy.from_keys([key])
    assert verify_artifact(ARTIFACT_SHA, [artifact_bundle("ed25519-a")], policy).signers == (
        KEY_IDS["ed25519-a"],
    )
