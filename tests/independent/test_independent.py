"""Independent expected values: nebsign's outputs checked by code that is not nebsign's.

The golden tests compare nebsign with nebsign (they catch change, not error). Here the
expected values come from elsewhere: GNU ``sha256sum`` and ``find`` for file digests and
modes, the ``rfc8785`` package called directly for canonical JSON, ``openssl`` for every
signature of every golden bundle (key ids recomputed from the DER SubjectPublicKeyInfo
by openssl), and the DSSE pre-authentication encoding written here from the DSSE spec.
Nothing below imports ``nebsign``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import rfc8785
from helpers import REPO, run_cli

GOLDEN = REPO / "tests" / "assets" / "golden"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
MANIFEST_TYPE = "https://nebsign.dev/manifest/v1"


def _tool(*argv: str | Path, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(
        [str(a) for a in argv], input=stdin, capture_output=True, check=False, timeout=60
    )
    assert proc.returncode == 0, (argv, proc.stderr)
    return proc.stdout


# --- manifests -------------------------------------------------------------------


def _make_tree(root: Path) -> None:
    (root / "app" / "sub dir").mkdir(parents=True)
    (root / "app" / "main.py").write_bytes(b"print('hi')\n")
    (root / "app" / "sub dir" / "données é.txt").write_bytes("ünïcode\n".encode())
    (root / "app" / "sub dir" / "empty").write_bytes(b"")
    (root / "bin").mkdir()
    (root / "bin" / "run").write_bytes(b"#!/bin/sh\necho run\n")
    os.chmod(root / "bin" / "run", 0o755)
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    os.symlink("../app/main.py", root / "bin" / "main")


def _expected_manifest(root: Path, **meta: str) -> bytes:
    """The manifest as the format says it must be, computed with coreutils + rfc8785."""
    out = subprocess.run(
        ["find", ".", "-type", "f", "-printf", r"%P\0%m\0%s\0"],
        cwd=root, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    files = []
    for i in range(0, len(out) - 1, 3):
        name, mode, size = out[i], int(out[i + 1], 8), int(out[i + 2])
        digest = subprocess.run(
            ["sha256sum", "--", name], cwd=root, capture_output=True, check=True
        ).stdout.split()[0]
        entry: dict[str, object] = {
            "path": name.decode(),
            "sha256": digest.decode().lstrip("\\"),
            "size": size,
        }
        if mode & 0o111:
            entry["executable"] = True
        files.append(entry)
    names = subprocess.run(
        ["find", ".", "-type", "l", "-printf", r"%P\0%l\0"], cwd=root, capture_output=True,
        check=True,
    ).stdout.split(b"\0")  # fmt: skip
    links = [
        {"path": names[i].decode(), "target": names[i + 1].decode()}
        for i in range(0, len(names) - 1, 2)
    ]
    doc: dict[str, object] = {"_type": MANIFEST_TYPE, "files": sorted(files, key=_path_key)}
    if links:
        doc["symlinks"] = sorted(links, key=_path_key)
    doc.update(meta)
    return bytes(rfc8785.dumps(doc))


def _path_key(entry: dict[str, object]) -> bytes:
    return str(entry["path"]).encode()


def test_manifest_equals_the_one_computed_with_sha256sum_and_rfc8785(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    _make_tree(tree)
    out = tmp_path / "release.json"
    result = run_cli(
        "manifest", "create", str(tree), "-o", str(out), "--name", "demo", "--version", "1.2.3"
    )
    assert result.exit_code == 0, result.stderr
    produced = out.read_bytes()
    expected = _expected_manifest(tree, name="demo", version="1.2.3")
    assert produced == expected, (produced[:400], expected[:400])
    # its digest is the file's digest, as sha256sum sees it
    assert hashlib.sha256(produced).hexdigest() == _tool("sha256sum", out).split()[0].decode()


def test_sha256sum_export_lists_every_regular_file_and_checks(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    _make_tree(tree)
    result = run_cli("manifest", "create", str(tree), "--sha256sum")
    assert result.exit_code == 0, result.stderr
    (tmp_path / "SUMS").write_bytes(result.stdout_bytes)
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", str(tmp_path / "SUMS")],
        cwd=tree, capture_output=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split(b"  ", 1)[1] for line in result.stdout_bytes.splitlines()}
    found = subprocess.run(
        ["find", ".", "-type", "f", "-printf", r"%P\0"], cwd=tree, capture_output=True, check=True
    ).stdout.split(b"\0")[:-1]
    assert listed == set(found)
    assert len(listed) == 5


# --- signatures --------------------------------------------------------------------


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding, from the spec (secure-systems-lab/dsse
    protocol.md): "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as
    ASCII decimal byte counts."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def test_pae_spec_vector() -> None:
    # the example in the DSSE protocol document
    assert _pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def _key_ids(tmp: Path) -> dict[str, Path]:
    """key id (hex SHA-256 of the DER SubjectPublicKeyInfo, computed by openssl) -> key."""
    ids = {}
    for pub in sorted((GOLDEN / "keys").glob("*.pub")):
        der = _tool(OPENSSL or "openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER")
        ids[hashlib.sha256(der).hexdigest()] = pub
    return ids


def _openssl_verify(pub: Path, message: bytes, signature: bytes, tmp: Path) -> bool:
    """Verify with openssl alone: Ed25519 is pure EdDSA over the message; ECDSA P-256 is
    ECDSA-SHA256 over the message."""
    (tmp / "msg").write_bytes(message)
    (tmp / "sig").write_bytes(signature)
    text = _tool(OPENSSL or "openssl", "pkey", "-pubin", "-in", pub, "-text_pub", "-noout")
    if b"ED25519" in text.upper():
        argv = ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin"]
        argv += ["-in", tmp / "msg", "-sigfile", tmp / "sig"]
    else:
        argv = ["dgst", "-sha256", "-verify", pub, "-signature", tmp / "sig", tmp / "msg"]
    proc = subprocess.run(
        [OPENSSL or "openssl", *map(str, argv)], capture_output=True, check=False, timeout=60
    )
    return proc.returncode == 0


BUNDLES = sorted(p.name for p in GOLDEN.glob("*.sigstore.json"))


@needs_openssl
@pytest.mark.parametrize("name", BUNDLES)
def test_openssl_verifies_every_golden_bundle(name: str, tmp_path: Path) -> None:
    """Every golden bundle, parsed with ``json`` and checked with ``openssl`` only."""
    doc = json.loads((GOLDEN / name).read_bytes())
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    pub = _key_ids(tmp_path)[doc["verificationMaterial"]["publicKey"]["hint"]]
    if "messageSignature" in doc:
        content = doc["messageSignature"]
        artifact = GOLDEN / name.removesuffix(".sigstore.json")  # release.json.sigstore.json
        if not artifact.is_file():  # artifact.bin.<signer>.sigstore.json
            artifact = artifact.with_name(artifact.name.rsplit(".", 1)[0])
        digest = hashlib.sha256(artifact.read_bytes()).digest()
        assert base64.b64decode(content["messageDigest"]["digest"]) == digest
        assert content["messageDigest"]["algorithm"] == "SHA2_256"
        # ADR 0006: the signed message is the 32 digest bytes, for both key kinds
        signature = base64.b64decode(content["signature"])
        assert _openssl_verify(pub, digest, signature, tmp_path)
        # ... never the artifact itself (the form a DSSE PAE could ride on)
        assert not _openssl_verify(pub, artifact.read_bytes(), signature, tmp_path)
    else:
        env = doc["dsseEnvelope"]
        payload = base64.b64decode(env["payload"])
        assert env["payloadType"] == "application/vnd.in-toto+json"
        (sig,) = env["signatures"]
        assert sig["keyid"] == doc["verificationMaterial"]["publicKey"]["hint"]
        message = _pae(env["payloadType"], payload)
        assert _openssl_verify(pub, message, base64.b64decode(sig["sig"]), tmp_path)
        statement = json.loads(payload)
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        # the payload is canonical JSON (RFC 8785), as nebsign promises
        assert bytes(rfc8785.dumps(statement)) == payload


@needs_openssl
def test_golden_manifest_signature_covers_the_golden_manifest(tmp_path: Path) -> None:
    """release.json's bundle signs sha256(release.json) as sha256sum computes it."""
    doc = json.loads((GOLDEN / "release.json.sigstore.json").read_bytes())
    digest_hex = _tool("sha256sum", GOLDEN / "release.json").split()[0].decode()
    assert base64.b64decode(doc["messageSignature"]["messageDigest"]["digest"]).hex() == digest_hex
    manifest = json.loads((GOLDEN / "release.json").read_bytes())
    assert bytes(rfc8785.dumps(manifest)) == (GOLDEN / "release.json").read_bytes()
    for entry in manifest["files"]:
        path = GOLDEN / "release" / entry["path"]
        assert _tool("sha256sum", path).split()[0].decode() == entry["sha256"]
        assert path.stat().st_size == entry["size"]
