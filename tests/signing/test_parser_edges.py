"""Issue 17.5: parser differentials and edge cases.

Non-ASCII digits in dates, one path-length limit for create and verify,
ECDSA low-S only, NFC/NFD names told apart in output, ``hash --check
--strict-paths`` for checksum files from untrusted sources.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, utils
from helpers import assert_one_line_error, run_cli

from nebsign._internal.safepath import MAX_PATH_LEN
from nebsign.bundle import Bundle, MessageSignature
from nebsign.errors import InputError
from nebsign.keys import KeyKind, generate_key, key_id
from nebsign.manifest import parse_expires
from nebsign.policy.trust import TrustPolicy
from nebsign.signing import sign_digest
from nebsign.tree import build_manifest
from nebsign.verify import SignatureMismatch, verify_artifact

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.mark.parametrize(
    "text",
    [
        "\uff12\uff10\uff12\uff17-01-31T00:00:00Z",  # fullwidth
        "\u0662\u0660\u0662\u0667-01-31T00:00:00Z",  # Arabic-Indic
        "\U0001d7d0\U0001d7ce\U0001d7d0\U0001d7d5-01-31T00:00:00Z",  # mathematical bold
        "2027-01-31T00:00:00\uff3a",
    ],
)
def test_expires_takes_ascii_digits_only(text: str) -> None:
    with pytest.raises(InputError):
        parse_expires(text)
    assert parse_expires("2027-01-31T00:00:00Z").year == 2027


def _deep(root: Path, length: int) -> str:
    """A file whose relative path is *length* characters (components of 200).

    Made through directory descriptors: the absolute path is over PATH_MAX.
    """
    parts, total = [], 0
    while total + 201 < length:
        parts.append("d" * 200)
        total += 201
    parts.append("f" * (length - total))
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            if not os.path.exists(f"/proc/self/fd/{fd}/{part}"):
                os.mkdir(part, dir_fd=fd)
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
        os.close(os.open(parts[-1], os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    return "/".join(parts)


def test_one_path_limit_for_create_and_verify(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    _deep(tree, MAX_PATH_LEN)
    assert build_manifest(tree).files  # exactly at the limit: fine
    _deep(tree / "x", MAX_PATH_LEN)  # "x/" + that: over it
    with pytest.raises(InputError, match="longer than"):
        build_manifest(tree)
    result = run_cli("manifest", "create", str(tree), "-o", str(tmp_path / "m.json"))
    assert_one_line_error(result, 2)
    assert not (tmp_path / "m.json").exists()


def _high_s(signature: bytes) -> bytes:
    r, s = utils.decode_dss_signature(signature)
    return utils.encode_dss_signature(r, P256_N - s)


def test_ecdsa_low_s_only() -> None:
    key = generate_key(KeyKind.ECDSA_P256)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    policy = TrustPolicy.from_keys([key.public_key()])
    for i in range(16):  # RFC 6979 nonces: about half would be high-S unsigned-normalized
        sha = hashlib.sha256(b"%d" % i).hexdigest()
        bundle = sign_digest(sha, key)
        assert isinstance(bundle.content, MessageSignature)
        _, s = utils.decode_dss_signature(bundle.content.signature)
        assert s <= P256_N // 2  # the signer always writes low-S
        assert verify_artifact(sha, [bundle], policy).signers
        twin = Bundle(
            MessageSignature(_high_s(bundle.content.signature), bytes.fromhex(sha)),
            key_id(key.public_key()),
        )
        with pytest.raises(SignatureMismatch, match="high-S"):
            verify_artifact(sha, [twin], policy)


def test_nfc_and_nfd_names_print_differently(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "keep").write_bytes(b"k")
    made = run_cli("manifest", "create", str(tree), "-o", str(tmp_path / "m.json"))
    assert made.exit_code == 0, made.stderr
    nfc = unicodedata.normalize("NFC", "caf\u00e9")
    nfd = unicodedata.normalize("NFD", nfc)
    (tree / nfc).write_bytes(b"1")
    (tree / nfd).write_bytes(b"2")
    (tree / "bad\nname").write_bytes(b"3")
    os.link(tree / "keep", os.path.join(os.fsencode(tree), b"raw\xff"))
    result = run_cli("manifest", "verify", str(tmp_path / "m.json"), str(tree))
    assert result.exit_code == 1
    extra = [line for line in result.stdout.splitlines() if line.startswith("EXTRA")]
    assert len(extra) == 4, result.stdout
    assert len(set(extra)) == 4, extra  # no two lines look the same
    assert "EXTRA    caf\u00e9" in extra
    assert any("\\u0301" in line for line in extra), extra  # the NFD one, marked
    assert any("\\n" in line for line in extra) and any("\\xff" in line for line in extra)


def test_check_strict_paths(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "secret").write_bytes(b"s")
    digest = hashlib.sha256(b"s").hexdigest()
    sums = tmp_path / "w" / "sums"
    for name in ("../secret", str(tmp_path / "secret")):
        sums.write_text(f"{digest}  {name}\n")
        plain = run_cli("hash", "--check", "sums", cwd=tmp_path / "w")
        assert plain.exit_code == 0  # as GNU sha256sum does
        strict = run_cli("hash", "--check", "sums", "--strict-paths", cwd=tmp_path / "w")
        assert_one_line_error(strict, 2)
        assert "strict-paths" in strict.stderr
    (tmp_path / "w" / "ok").write_bytes(b"s")
    sums.write_text(f"{digest}  ok\n{digest}  ./ok\n")
    ok = run_cli("hash", "--check", "sums", "--strict-paths", cwd=tmp_path / "w")
    assert ok.exit_code == 0, ok.stderr


def test_sign_verify_attest_escape_names(tmp_path: Path) -> None:
    """A name with a newline or an escape sequence cannot forge or recolor output lines."""
    from signing.sigassets import GOLDEN

    evil = tmp_path / "a\nOK   forged: signed by x\x1b[2J.bin"
    evil.write_bytes(b"payload")
    key, pub = str(GOLDEN / "keys/ed25519-a.key"), str(GOLDEN / "keys/ed25519-a.pub")
    signed = run_cli("sign", str(evil), "--key", key)
    assert signed.exit_code == 0, signed.stderr
    verified = run_cli("verify", str(evil), "--key", pub)
    assert verified.exit_code == 0, verified.stderr
    for out in (signed.stdout, verified.stdout):
        assert len(out.splitlines()) == 1 and "\x1b" not in out and "\\n" in out, out
    att = str(tmp_path / "att.json")
    made = run_cli("attest", "create", "--type", "sast", "--predicate", str(_predicate(tmp_path)),
                   "--subject", str(evil), "--key", key, "-o", att)  # fmt: skip
    assert made.exit_code == 0, made.stderr
    shown = run_cli("attest", "verify", str(tmp_path / "att.json"), "--key", pub)
    assert shown.exit_code == 0, shown.stderr
    subject_lines = [line for line in shown.stdout.splitlines() if "subject" in line]
    assert len(subject_lines) == 1 and "\x1b" not in shown.stdout, shown.stdout


def _predicate(tmp_path: Path) -> Path:
    path = tmp_path / "pred.json"
    path.write_text('{"verdict": "pass"}')
    return path
