"""k-of-n over distinct signers; AllOf / AnyOf groups; empty or contradictory policies."""

from __future__ import annotations

import hashlib

import pytest
from helpers import assert_one_line_error, run_cli
from signing.sigassets import ARTIFACT_SHA, GOLDEN, KEY_IDS, artifact_bundle, golden_policy

from nebsign.errors import VerdictError
from nebsign.policy.trust import InvalidPolicy, ThresholdNotMet, TrustPolicy
from nebsign.verify import verify_artifact


def test_two_of_three() -> None:
    policy = golden_policy("policy-2-of-3.toml")
    a, b, c = (artifact_bundle(n) for n in ("ed25519-a", "ed25519-b", "ed25519-c"))
    with pytest.raises(ThresholdNotMet, match="1 of 2"):  # k-1 distinct
        verify_artifact(ARTIFACT_SHA, [a], policy)
    assert set(verify_artifact(ARTIFACT_SHA, [a, c], policy).signers) == {
        KEY_IDS["ed25519-a"],
        KEY_IDS["ed25519-c"],
    }
    assert set(verify_artifact(ARTIFACT_SHA, [a, b, c], policy).signers) == {
        KEY_IDS[n] for n in ("ed25519-a", "ed25519-b", "ed25519-c")
    }
    with pytest.raises(ThresholdNotMet):  # k signatures by one key count once
        verify_artifact(ARTIFACT_SHA, [a, a], policy)
    with pytest.raises(ThresholdNotMet):
        verify_artifact(ARTIFACT_SHA, [b, b, b], policy)
    # an untrusted signature does not count, a failing one is reported
    with pytest.raises(ThresholdNotMet, match="wrong key"):
        verify_artifact(ARTIFACT_SHA, [a, artifact_bundle("p256-a")], policy)


def test_any_of_groups() -> None:
    policy = golden_policy("policy-any-of.toml")
    # which signers counted: the alternative that was satisfied, nobody else
    one = verify_artifact(ARTIFACT_SHA, [artifact_bundle("p256-a")], policy)
    assert one.signers == (KEY_IDS["p256-a"],) and one.sha256 == ARTIFACT_SHA
    two = verify_artifact(
        ARTIFACT_SHA, [artifact_bundle("ed25519-b"), artifact_bundle("ed25519-c")], policy
    )
    assert set(two.signers) == {KEY_IDS["ed25519-b"], KEY_IDS["ed25519-c"]}
    with pytest.raises(VerdictError, match="no alternative"):
        verify_artifact(ARTIFACT_SHA, [artifact_bundle("ed25519-b")], policy)


def test_all_of_groups() -> None:
    text = (GOLDEN / "policy-any-of.toml").read_text().replace("any_of", "all_of")
    policy = TrustPolicy.from_toml(text.encode(), GOLDEN)
    b, c, p = (artifact_bundle(n) for n in ("ed25519-b", "ed25519-c", "p256-a"))
    got = verify_artifact(ARTIFACT_SHA, [p, b, c], policy)
    assert set(got.signers) == {KEY_IDS[n] for n in ("p256-a", "ed25519-b", "ed25519-c")}
    for subset in ([p], [b, c], [p, b], [p, c, c]):
        with pytest.raises(ThresholdNotMet):
            verify_artifact(ARTIFACT_SHA, subset, policy)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "version = 1\n",
        "version = 1\nthreshold = 1\n",
        "version = 1\n[[all_of]]\n",
        "version = 1\nall_of = []\n",
        "version = 1\nany_of = []\n",
        "version = 2\nthreshold = 1\n",
        "version = 1\nthreshold = 3\n[[keys]]\npath = 'keys/ed25519-a.pub'\nsha256 = '"
        + "0" * 64
        + "'\n",
        "version = 1\nthreshold = 0\n[[identities]]\nidentity = 'a'\nissuer = 'b'\n",
        "version = 1\n[[identities]]\nidentity = 'a'\n",
        "version = 1\n[[identities]]\nidentity_regex = '('\nissuer = 'b'\n",
        "version = 1\nunknown = 1\n[[identities]]\nidentity = 'a'\nissuer = 'b'\n",
    ],
)
def test_bad_policies(text: str) -> None:
    with pytest.raises(InvalidPolicy):
        TrustPolicy.from_toml(text.encode(), GOLDEN)


def test_pins_are_checked() -> None:
    good = (GOLDEN / "policy-any-of.toml").read_text()
    pub_sha = hashlib.sha256((GOLDEN / "keys/ed25519-b.pub").read_bytes()).hexdigest()
    with pytest.raises(InvalidPolicy, match="pins"):
        TrustPolicy.from_toml(good.replace(pub_sha, "f" * 64).encode(), GOLDEN)
    kid = KEY_IDS["ed25519-a"]
    inline = (GOLDEN / "policy-2-of-3.toml").read_text()
    with pytest.raises(InvalidPolicy, match="does not match"):
        TrustPolicy.from_toml(inline.replace(kid, "a" * 64).encode(), GOLDEN)


def test_cli_threshold(tmp_path) -> None:  # type: ignore[no-untyped-def]
    art = str(GOLDEN / "artifact.bin")
    b = [str(GOLDEN / f"artifact.bin.{n}.sigstore.json") for n in ("ed25519-a", "ed25519-b")]
    keys = [x for n in ("ed25519-a", "ed25519-b", "ed25519-c")
            for x in ("--key", str(GOLDEN / f"keys/{n}.pub"))]  # fmt: skip
    ok = run_cli("verify", art, "--bundle", b[0], "--bundle", b[1], *keys, "--threshold", "2")
    assert ok.exit_code == 0, ok.stderr
    same = run_cli("verify", art, "--bundle", b[0], "--bundle", b[0], *keys, "--threshold", "2")
    assert_one_line_error(same, 1)
    pol = run_cli("verify", art, "--bundle", b[0], "--policy", str(GOLDEN / "policy-2-of-3.toml"))
    assert_one_line_error(pol, 1)
    (tmp_path / "empty.toml").write_text("version = 1\n")
    empty = run_cli("verify", art, "--bundle", b[0], "--policy", str(tmp_path / "empty.toml"))
    assert_one_line_error(empty, 2)


def test_example_policy_and_bundled_roots() -> None:
    from helpers import REPO

    from nebsign.policy.trust import BUNDLED_TRUSTED_ROOTS, bundled_trusted_root

    example = REPO / "policies" / "trust-example.toml"
    policy = TrustPolicy.from_toml(example.read_bytes(), example.parent)
    assert len(policy.groups) == 2 and policy.required_predicates
    assert policy.trusted_root is not None
    for instance, (rel, sha) in BUNDLED_TRUSTED_ROOTS.items():
        root = bundled_trusted_root(instance)
        assert hashlib.sha256(root.data).hexdigest() == sha
        assert hashlib.sha256((REPO / "policies" / rel).read_bytes()).hexdigest() == sha
