"""``nebsign sign --sigstore``: an unusable identity token is bad input (exit 2), refused
before the network, never echoed, and no bundle is written (the same check as
``nebsign release --sigstore``, tests/release/test_keyless_release.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_one_line_error, run_cli

from nebsign.signing import BadIdentityToken, NoIdentityToken, load_identity_token


@pytest.mark.parametrize("token", ["not-a-jwt", "e30.e30.sig"])
def test_sign_sigstore_with_a_malformed_token_is_exit_2(tmp_path: Path, token: str) -> None:
    artifact = tmp_path / "a.txt"
    artifact.write_text("x\n")
    result = run_cli("sign", str(artifact), "--sigstore", env={"SIGSTORE_IDENTITY_TOKEN": token})
    assert_one_line_error(result, 2)
    assert "SIGSTORE_IDENTITY_TOKEN is not a usable Sigstore identity token" in result.stderr
    assert token not in result.stderr
    assert not (tmp_path / "a.txt.sigstore.json").exists()


def test_library_refusals_carry_their_exit_codes() -> None:
    with pytest.raises(BadIdentityToken) as bad:
        load_identity_token("a.b.c")
    assert bad.value.exit_code == 2
    with pytest.raises(NoIdentityToken) as none:
        load_identity_token(None, ambient=False)
    assert none.value.exit_code == 3 and "SIGSTORE_IDENTITY_TOKEN" in none.value.message
