"""Every row of ../shared/testdata/sigstore/README.md, offline, against the pinned roots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SHARED, assert_one_line_error, run_cli

from nebsign.bundle import Bundle, InvalidBundle
from nebsign.digest import sha256_file
from nebsign.errors import VerdictError
from nebsign.keyless import IdentityMismatch, KeylessVerificationFailed
from nebsign.policy.trust import TrustedIdentity, TrustPolicy, bundled_trusted_root
from nebsign.verify import verify_artifact

DATA = SHARED / "testdata" / "sigstore"
GH = "https://token.actions.githubusercontent.com"
GHO = "https://github.com/login/oauth"
WORKFLOW = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml"
GOOD = [
    ("bundle_v3_github.whl", "production", f"{WORKFLOW}@refs/tags/v0.1.2", GH),
    ("bundle.txt", "staging", "a@tny.town", GHO),
    ("bundle_v3.txt", "staging", "william@yossarian.net", GHO),
    ("staging-rekor-v2.txt", "staging", "jku@goto.fi", GHO),
]  # fmt: skip
BAD = [
    "bundle_cve_2022_36056.txt",
    "bundle_invalid_version.txt",
    "bundle_no_cert_v1.txt",
    "bundle_no_log_entry.txt",
    "bundle_v3_no_signed_time.txt",
]
IDENTITIES = [(ident, issuer) for _, _, ident, issuer in GOOD] + [("william@yossarian.net", GHO)]


def _bundle_path(artifact: str) -> Path:
    for suffix in (".sigstore", ".sigstore.json"):
        if (DATA / (artifact + suffix)).exists():
            return DATA / (artifact + suffix)
    raise AssertionError(f"no bundle for {artifact}")


def _verify(  # type: ignore[no-untyped-def]
    artifact: str, instance: str, identity: str, issuer: str, digest: str | None = None
):
    policy = TrustPolicy.from_identities(
        [TrustedIdentity(issuer, identity)], bundled_trusted_root(instance)
    )
    bundle = Bundle.from_json(_bundle_path(artifact).read_bytes())
    return verify_artifact(digest or sha256_file(DATA / artifact).sha256, [bundle], policy)


@pytest.mark.parametrize(("artifact", "instance", "identity", "issuer"), GOOD)
def test_good_rows(artifact: str, instance: str, identity: str, issuer: str) -> None:
    assert _verify(artifact, instance, identity, issuer).signers == (f"{identity} ({issuer})",)
    with pytest.raises(IdentityMismatch, match="wrong identity"):
        _verify(artifact, instance, "someone@example.com", issuer)
    with pytest.raises(IdentityMismatch, match="wrong identity"):
        _verify(artifact, instance, identity, "https://accounts.google.com")
    data = bytearray((DATA / artifact).read_bytes())
    for pos in (0, len(data) // 2, len(data) - 1):
        flipped = bytes(data[:pos]) + bytes([data[pos] ^ 0x01]) + bytes(data[pos + 1 :])
        from nebsign.digest import sha256_bytes

        with pytest.raises(KeylessVerificationFailed, match="tampered"):
            _verify(artifact, instance, identity, issuer, sha256_bytes(flipped))
    # the other instance's root does not vouch for it
    other = "staging" if instance == "production" else "production"
    with pytest.raises(KeylessVerificationFailed):
        _verify(artifact, other, identity, issuer)


def test_regex_identity() -> None:
    policy = TrustPolicy.from_identities(
        [TrustedIdentity(GH, identity_regex=r"https://github\.com/trailofbits/rfc8785\.py/.*")],
        bundled_trusted_root("production"),
    )
    bundle = Bundle.from_json(_bundle_path("bundle_v3_github.whl").read_bytes())
    digest = sha256_file(DATA / "bundle_v3_github.whl").sha256
    assert verify_artifact(digest, [bundle], policy).signers
    near_miss = TrustPolicy.from_identities(
        [TrustedIdentity(GH, identity_regex=r"https://github\.com/trailofbits/rfc8785\.py")],
        bundled_trusted_root("production"),
    )
    with pytest.raises(IdentityMismatch):  # full match, not search
        verify_artifact(digest, [bundle], near_miss)


# What each bad row is: a well-formed bundle whose verification must fail (a verdict,
# exit 1), or a bundle the parser refuses before any check (malformed, exit 2).
BAD_AS = {
    "bundle_cve_2022_36056.txt": VerdictError,
    "bundle_invalid_version.txt": InvalidBundle,
    "bundle_no_cert_v1.txt": InvalidBundle,
    "bundle_no_log_entry.txt": InvalidBundle,
    "bundle_v3_no_signed_time.txt": InvalidBundle,
}


@pytest.mark.parametrize("artifact", BAD)
def test_bad_rows_rejected_whatever_identity(artifact: str) -> None:
    for instance in ("production", "staging"):
        for identity, issuer in IDENTITIES:
            with pytest.raises(BAD_AS[artifact]):
                _verify(artifact, instance, identity, issuer)


def _cli(  # type: ignore[no-untyped-def]
    artifact: str, instance: str, identity: str, issuer: str, path: Path | None = None
):
    args = ["verify", str(path or DATA / artifact), "--bundle", str(_bundle_path(artifact)),
            "--cert-identity", identity, "--cert-oidc-issuer", issuer]  # fmt: skip
    if instance == "staging":
        args.append("--staging")
    return run_cli(*args)


@pytest.mark.parametrize(("artifact", "instance", "identity", "issuer"), GOOD)
def test_cli_good_rows(
    artifact: str, instance: str, identity: str, issuer: str, tmp_path: Path
) -> None:
    ok = _cli(artifact, instance, identity, issuer)
    assert ok.exit_code == 0, ok.stderr
    assert identity in ok.stdout
    assert_one_line_error(_cli(artifact, instance, "x@example.com", issuer), 1)
    copy = tmp_path / artifact
    shutil.copy(DATA / artifact, copy)
    copy.write_bytes(copy.read_bytes() + b"\n")
    assert_one_line_error(_cli(artifact, instance, identity, issuer, copy), 1)


@pytest.mark.parametrize("artifact", BAD)
def test_cli_bad_rows(artifact: str) -> None:
    for instance, (identity, issuer) in (("staging", IDENTITIES[1]), ("production", IDENTITIES[0])):
        result = _cli(artifact, instance, identity, issuer)
        assert result.exit_code in (1, 2), result.stderr
        assert_one_line_error(result, result.exit_code)


def test_cli_trusted_root_file(tmp_path: Path) -> None:
    from nebsign._internal.resources import data_path

    root = data_path("policies") / "sigstore" / "staging.trusted_root.json"
    args = ["verify", str(DATA / "bundle.txt"), "--bundle", str(DATA / "bundle.txt.sigstore"),
            "--identity", "a@tny.town", "--issuer", GHO]  # fmt: skip
    assert run_cli(*args, "--trusted-root", str(root)).exit_code == 0
    prod = data_path("policies") / "sigstore" / "production.trusted_root.json"
    assert_one_line_error(run_cli(*args, "--trusted-root", str(prod)), 1)
    (tmp_path / "policy.toml").write_text(
        'version = 1\n[[identities]]\nidentity = "a@tny.town"\n'
        f'issuer = "{GHO}"\n[sigstore]\ninstance = "staging"\n'
    )
    pol = ["verify", str(DATA / "bundle.txt"), "--bundle", str(DATA / "bundle.txt.sigstore")]
    assert run_cli(*pol, "--policy", str(tmp_path / "policy.toml")).exit_code == 0


def test_keyless_bundle_against_a_key_only_policy() -> None:
    from nebsign.keys import generate_key

    bundle = Bundle.from_json(_bundle_path("bundle.txt").read_bytes())
    policy = TrustPolicy.from_keys([generate_key().public_key()])
    with pytest.raises(IdentityMismatch, match="trusts only keys"):
        verify_artifact(sha256_file(DATA / "bundle.txt").sha256, [bundle], policy)
