"""Issue 9.14/9.15: keyless errors say what to do; a trusted root's validity period is closed.

Real Sigstore bundles (sigstore-python's test data under ../shared/testdata).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import SHARED, assert_one_line_error, run_cli

from nebsign._internal.resources import data_path

DATA = SHARED / "testdata" / "sigstore"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} not present")
GHO = "https://github.com/login/oauth"
GH = "https://token.actions.githubusercontent.com"
WORKFLOW = (
    "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
)


def _verify(artifact: str, bundle: str, identity: str, issuer: str, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("verify", str(DATA / artifact), "--bundle", str(DATA / bundle),
                   "--identity", identity, "--issuer", issuer, *extra)  # fmt: skip


def test_staging_bundle_without_staging_says_so() -> None:
    result = _verify("bundle_v3.txt", "bundle_v3.txt.sigstore", "william@yossarian.net", GHO)
    assert_one_line_error(result, 1)
    assert "staging instance" in result.stderr and "add --staging" in result.stderr
    assert "exhausted" not in result.stderr
    ok = _verify("bundle_v3.txt", "bundle_v3.txt.sigstore", "william@yossarian.net", GHO,
                 "--staging")  # fmt: skip
    assert ok.exit_code == 0, ok.stderr


def test_production_bundle_with_staging_says_so() -> None:
    result = _verify("bundle_v3_github.whl", "bundle_v3_github.whl.sigstore", WORKFLOW, GH,
                     "--staging")  # fmt: skip
    assert_one_line_error(result, 1)
    assert "production instance" in result.stderr and "drop --staging" in result.stderr


_BAD_KEY_ROOT = json.dumps(
    {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"publicKey": {"rawBytes": "!!"}}],
    }
).encode()


@pytest.mark.parametrize(
    "content",
    [
        b'{"mediaType":"x","tlogs":[{"baseUrl":1}]}',
        b"[]",
        b"not json at all",
        _BAD_KEY_ROOT,
    ],
)
def test_malformed_trusted_root_is_one_short_line(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "root.json").write_bytes(content)
    result = _verify("bundle_v3.txt", "bundle_v3.txt.sigstore", "william@yossarian.net", GHO,
                     "--trusted-root", str(tmp_path / "root.json"))  # fmt: skip
    assert_one_line_error(result, 2)
    assert len(result.stderr) < 400, result.stderr


@pytest.mark.parametrize(
    ("end", "code"), [("2025-06-09T11:57:38Z", 0), ("2025-06-09T11:57:37Z", 1)]
)
def test_timestamp_at_the_end_of_the_validity_period_is_valid(
    tmp_path: Path, end: str, code: int
) -> None:
    """The Rekor v2 bundle's only time is its TSA timestamp, 2025-06-09T11:57:38Z."""
    root = json.loads((data_path("policies") / "sigstore/staging.trusted_root.json").read_bytes())
    for authority in root["timestampAuthorities"]:
        authority["validFor"]["end"] = end
    (tmp_path / "root.json").write_text(json.dumps(root))
    result = _verify("staging-rekor-v2.txt", "staging-rekor-v2.txt.sigstore.json", "jku@goto.fi",
                     GHO, "--trusted-root", str(tmp_path / "root.json"))  # fmt: skip
    assert result.exit_code == code, result.stderr


def test_identity_purposes_scope_keyless_signers(tmp_path: Path) -> None:
    """A Sigstore identity trusted for attestations only does not sign artifacts."""
    policy = tmp_path / "p.toml"
    policy.write_text(
        'version = 1\n[sigstore]\ninstance = "staging"\n[[identities]]\n'
        f'identity = "william@yossarian.net"\nissuer = "{GHO}"\npurposes = ["attestations"]\n'
    )
    args = ["verify", str(DATA / "bundle_v3.txt"), "--bundle", str(DATA / "bundle_v3.txt.sigstore")]
    result = run_cli(*args, "--policy", str(policy))
    assert_one_line_error(result, 1)
    assert "wrong purpose" in result.stderr
    policy.write_text(policy.read_text().replace('["attestations"]', '["artifacts"]'))
    assert run_cli(*args, "--policy", str(policy)).exit_code == 0
