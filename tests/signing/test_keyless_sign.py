"""Keyless signing through the public Sigstore instance: needs the network and an OIDC token.

Skipped unless NEBSIGN_NETWORK_TESTS=1 and SIGSTORE_IDENTITY_TOKEN are set (e.g. in a CI job
with ``id-token: write``); offline runs never touch the network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import run_cli

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        os.environ.get("NEBSIGN_NETWORK_TESTS") != "1"
        or not os.environ.get("SIGSTORE_IDENTITY_TOKEN"),
        reason="needs the network and SIGSTORE_IDENTITY_TOKEN (set NEBSIGN_NETWORK_TESTS=1)",
    ),
]


def test_sign_keyless_then_verify_offline(tmp_path: Path) -> None:
    from sigstore.oidc import IdentityToken

    token = IdentityToken(os.environ["SIGSTORE_IDENTITY_TOKEN"])
    staging = os.environ.get("NEBSIGN_SIGSTORE_STAGING") == "1"
    artifact = tmp_path / "a.txt"
    artifact.write_text("signed keyless by nebsign\n")
    extra = ["--staging"] if staging else []
    signed = run_cli("sign", str(artifact), "--sigstore", *extra)
    assert signed.exit_code == 0, signed.stderr
    verified = run_cli("verify", str(artifact), "--identity", token.identity,
                       "--issuer", token.federated_issuer, *extra)  # fmt: skip
    assert verified.exit_code == 0, verified.stderr
    wrong = run_cli("verify", str(artifact), "--identity", "nobody@example.com",
                    "--issuer", token.federated_issuer, *extra)  # fmt: skip
    assert wrong.exit_code == 1
