"""Keys: generation, encrypted PKCS#8, key ids, passphrase sources (never argv)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from helpers import assert_one_line_error, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from nebsign.digest import sha256_bytes
from nebsign.keys import (
    InvalidKey,
    KeyKind,
    WrongPassphrase,
    generate_key,
    key_id,
    key_kind,
    load_private_key,
    load_public_key,
    passphrase_from_fd,
    private_key_pem,
    public_key_der,
    public_key_pem,
    save_private_key,
)

SECRET = "correct horse battery staple 7f3a"  # nosec B105  # nosemgrep - a test passphrase


@pytest.mark.parametrize("kind", list(KeyKind))
def test_save_load_roundtrip(tmp_path: Path, kind: KeyKind) -> None:
    key = generate_key(kind)
    path = tmp_path / "k.key"
    save_private_key(path, key, SECRET.encode())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem and SECRET.encode() not in pem
    loaded = load_private_key(pem, SECRET.encode())
    assert key_id(loaded.public_key()) == key_id(key.public_key())
    assert key_kind(loaded) is kind
    with pytest.raises(WrongPassphrase) as wrong:
        load_private_key(pem, b"not it")
    assert SECRET not in wrong.value.diagnostics() and "not it" not in wrong.value.diagnostics()
    with pytest.raises(WrongPassphrase):
        load_private_key(pem, None)


def test_key_id_is_sha256_of_spki_der() -> None:
    key = generate_key()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_id(key.public_key()) == sha256_bytes(der)
    assert key_id(load_public_key(public_key_pem(key.public_key()))) == sha256_bytes(der)


def test_unencrypted_only_explicitly_and_no_empty_passphrase() -> None:
    key = generate_key()
    assert b"BEGIN PRIVATE KEY" in private_key_pem(key, None)
    with pytest.raises(WrongPassphrase):
        private_key_pem(key, b"")


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"garbage",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"x" * 70000,
    ],
)
def test_bad_public_keys(pem: bytes) -> None:
    with pytest.raises(InvalidKey):
        load_public_key(pem)


def test_rsa_and_p384_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    for private in (rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP384R1())):
        pub = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(InvalidKey):
            load_public_key(pub)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(InvalidKey):
            load_private_key(pem, None)


def test_passphrase_from_fd() -> None:
    r, w = os.pipe()
    os.write(w, SECRET.encode() + b"\nrest")
    os.close(w)
    try:
        assert passphrase_from_fd(r) == SECRET.encode()
    finally:
        os.close(r)


def test_cli_generate_env_passphrase(tmp_path: Path) -> None:
    prefix = tmp_path / "rel"
    result = run_cli("key", "generate", "-o", str(prefix), env={"NEBSIGN_PASSPHRASE": SECRET})
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    private = Path(f"{prefix}.key")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"ENCRYPTED" in private.read_bytes()
    shown = run_cli("key", "show", f"{prefix}.pub", "--format", "json")
    assert shown.exit_code == 0
    kid = load_public_key(Path(f"{prefix}.pub").read_bytes())
    assert key_id(kid) in shown.stdout
    # the private key shows the same id, given the passphrase
    again = run_cli("key", "show", str(private), env={"NEBSIGN_PASSPHRASE": SECRET})
    assert again.exit_code == 0 and key_id(kid) in again.stdout
    wrong = run_cli("key", "show", str(private), env={"NEBSIGN_PASSPHRASE": "nope-nope"})  # nosec B105
    assert_one_line_error(wrong, 2)
    assert "nope-nope" not in wrong.stderr and SECRET not in wrong.stderr
    # refuses to overwrite
    assert_one_line_error(
        run_cli("key", "generate", "-o", str(prefix), env={"NEBSIGN_PASSPHRASE": SECRET}), 2
    )


def test_cli_passphrase_fd_and_never_in_argv(tmp_path: Path) -> None:
    """The passphrase travels on a pipe; the child's argv never holds it."""
    r, w = os.pipe()
    os.write(w, SECRET.encode() + b"\n")
    os.close(w)
    env = {k: v for k, v in os.environ.items() if k != "NEBSIGN_PASSPHRASE"}
    argv = [sys.executable, "-m", "nebsign", "key", "generate", "-o", str(tmp_path / "fd"),
            "--type", "ecdsa-p256", "--passphrase-fd", str(r)]  # fmt: skip
    proc = subprocess.Popen(
        argv, pass_fds=(r,), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    seen = cmdline.read_bytes() if cmdline.exists() else b""
    out, err = proc.communicate(timeout=60)
    os.close(r)
    assert proc.returncode == 0, err
    assert SECRET.encode() not in seen + out + err
    assert all(SECRET not in a for a in argv)
    pem = (tmp_path / "fd.key").read_bytes()
    assert key_kind(load_private_key(pem, SECRET.encode())) is KeyKind.ECDSA_P256


def test_cli_has_no_passphrase_option(tmp_path: Path) -> None:
    result = run_cli("key", "generate", "-o", str(tmp_path / "x"), "--passphrase", SECRET)
    assert_one_line_error(result, 2)
    assert SECRET not in result.stderr
    assert not (tmp_path / "x.key").exists()


def test_cli_no_tty_no_passphrase_is_an_error(tmp_path: Path) -> None:
    result = run_cli("key", "generate", "-o", str(tmp_path / "x"))
    assert_one_line_error(result, 2)
    ok = run_cli("key", "generate", "-o", str(tmp_path / "y"), "--no-passphrase")
    assert ok.exit_code == 0
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "y.key").read_bytes()


def test_fast_public_key_path_agrees_with_cryptography() -> None:
    """The SPKI fast path (no `serialization` import) gives the generic loader's key, or defers."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    for kind in KeyKind:
        for _ in range(20):
            pem = public_key_pem(generate_key(kind).public_key())
            for variant in (pem, pem.replace(b"\n", b"\r\n"), pem.rstrip(b"\n"), b"\n" + pem):
                ours = load_public_key(variant)
                theirs = load_pem_public_key(variant.strip() + b"\n")
                assert key_id(ours) == key_id(theirs)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=120))
def test_public_key_parser_on_arbitrary_der(der: bytes) -> None:
    import base64

    pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"
    try:
        key = load_public_key(pem)
    except InvalidKey:
        return
    assert public_key_der(key) == der  # only an exact, canonical SPKI is accepted
