"""One trust seam: every verifying command takes the same trust flags, built by one library call."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from helpers import assert_one_line_error, run_cli

from nebsign.cli import cli
from nebsign.errors import InputError
from nebsign.keys import generate_key, key_id, public_key_pem
from nebsign.policy.trust_input import TrustInput, load_trust_policy

TRUST_PARAMS = {
    "keys",
    "identity",
    "identity_regexp",
    "issuer",
    "trusted_root",
    "staging",
    "policy_file",
    "threshold",
}
#: every command that verifies a signature, and how it spells --key / --policy when
#: those already mean something else there (the report's signing key, the gate's policy)
VERIFYING = {
    ("verify",): ("--key", "--policy"),
    ("attest", "verify"): ("--key", "--policy"),
    ("report", "build"): ("--trust-key", "--policy"),
    ("report", "verify"): ("--trust-key", "--policy"),
    ("gate", "rollout"): ("--key", "--trust-policy"),
}


def _command(path: tuple[str, ...]) -> click.Command:
    ctx = click.Context(cli)
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(ctx, name)
    assert command is not None
    return command


@pytest.mark.parametrize("path", sorted(VERIFYING))
def test_every_verifying_command_has_the_trust_flags(path: tuple[str, ...]) -> None:
    params = {p.name: p for p in _command(path).params}
    assert set(params) >= TRUST_PARAMS, TRUST_PARAMS - set(params)
    key_flag, policy_flag = VERIFYING[path]
    assert key_flag in params["keys"].opts
    assert policy_flag in params["policy_file"].opts
    assert "--cert-identity" in params["identity"].opts
    assert "--cert-oidc-issuer" in params["issuer"].opts


def _pub(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(public_key_pem(generate_key().public_key()))
    return str(path)


@pytest.mark.parametrize(
    ("trust", "message"),
    [
        (TrustInput(), "no trusted signer given"),
        (TrustInput(policy_file="p.toml", keys=("k.pub",)), "--policy carries its own"),
        (TrustInput(policy_file="p.toml", staging=True), "--policy carries its own"),
        (TrustInput(policy_file="p.toml", threshold=2), "--threshold applies to --key"),
        (TrustInput(identity="a@example.com"), "--identity needs --issuer"),
        (TrustInput(issuer="https://issuer.example"), "--issuer needs --identity"),
        (
            TrustInput(policy_file="p.toml", keys=("k",), key_flag="--trust-key"),
            "drop --trust-key/--identity",
        ),
    ],
)
def test_contradictory_or_missing_input_is_refused(trust: TrustInput, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_trust_policy(trust)


def test_keys_become_one_group_with_the_threshold(tmp_path: Path) -> None:
    a, b = _pub(tmp_path, "a.pub"), _pub(tmp_path, "b.pub")
    policy = load_trust_policy(TrustInput(keys=(a, b), threshold=2))
    assert len(policy.keys) == 2
    assert [g.threshold for g in policy.groups] == [2]
    assert policy.digest == ""  # built from flags, not a policy file


def test_a_policy_file_is_read(tmp_path: Path) -> None:
    public = generate_key().public_key()
    policy_file = tmp_path / "trust.toml"
    policy_file.write_text(
        f'version = 1\n[[keys]]\nid = "{key_id(public)}"\n'
        f"pem = '''{public_key_pem(public).decode()}'''\n"
    )
    policy = load_trust_policy(TrustInput(policy_file=str(policy_file)))
    assert len(policy.keys) == 1 and policy.digest


def test_attest_verify_refuses_a_threshold_it_cannot_apply(
    tmp_path: Path, keypair: tuple[Path, Path]
) -> None:
    """An attestation needs one trusted signer: a --threshold there is refused, not ignored."""
    priv, pub = keypair
    subject, predicate = tmp_path / "app.bin", tmp_path / "pred.json"
    subject.write_bytes(b"app")
    predicate.write_text('{"verdict": "pass"}')
    out = tmp_path / "att.json"
    made = run_cli("attest", "create", "--type", "sast", "--predicate", str(predicate),
                   "--subject", str(subject), "--key", str(priv), "-o", str(out),
                   env={"NEBSIGN_PASSPHRASE": ""})  # fmt: skip
    assert made.exit_code == 0, made.stderr
    other = _pub(tmp_path, "other.pub")
    one = run_cli("attest", "verify", str(out), "--key", str(pub), "--key", other)
    assert one.exit_code == 0, one.stderr
    two = run_cli("attest", "verify", str(out), "--key", str(pub), "--key", other,
                  "--threshold", "2")  # fmt: skip
    assert_one_line_error(two, 2)
    assert "--threshold applies to artifact and manifest signatures" in two.stderr


def test_gate_rollout_without_trust_input_is_one_line(tmp_path: Path) -> None:
    manifest, att = tmp_path / "release.json", tmp_path / "a.json"
    manifest.write_text("{}")
    att.write_text("{}")
    res = run_cli("gate", "rollout", str(manifest), "--attestation", str(att))
    assert_one_line_error(res, 2)
    assert "--trust-policy FILE" in res.stderr


def test_the_report_helper_for_several_policies_is_the_same_call(tmp_path: Path) -> None:
    """`cli.report._policy(file, keys)` (commands that take several trust policies) is
    load_trust_policy underneath: same checks, None when nothing was named."""
    from nebsign.cli.report import _policy

    assert _policy(None, ()) is None
    assert len(_policy(None, (_pub(tmp_path, "a.pub"),)).keys) == 1  # type: ignore[union-attr]
    with pytest.raises(InputError, match="drop --trust-key"):
        _policy("p.toml", (_pub(tmp_path, "b.pub"),))
