"""Deterministic generator of the signing test assets (golden files).

Fixed Ed25519 seeds, a fixed P-256 scalar, RFC 6979 deterministic ECDSA and
fixed timestamps: running it twice gives byte-identical files, and
``tests/signing/test_golden.py`` regenerates into a temp dir and compares.

Also builds a small *test* transparency log (its own P-256 key, a two-leaf
Merkle tree, a signed checkpoint and a signed entry timestamp) and a trusted
root naming only that log, so public-key bundles with log entries are tested
with real cryptography offline.

    python tests/assets/generate.py [OUTDIR]      # default: tests/assets/golden
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from nebsign.attest import SAST_V1, SLSA_PROVENANCE_V1, Statement, Subject
from nebsign.bundle import Bundle
from nebsign.keys import key_id, private_key_pem, public_key_der, public_key_pem
from nebsign.signing import sign_digest, sign_statement
from nebsign.tree import build_manifest

ED25519_SEEDS = {"ed25519-a": b"\x01" * 32, "ed25519-b": b"\x02" * 32, "ed25519-c": b"\x03" * 32}
P256_SCALARS = {"p256-a": 0x1F2E3D4C5B6A79880102030405060708090A0B0C0D0E0F101112131415161718}
REKOR_SCALAR = 0x7E57000000000000000000000000000000000000000000000000000000000001
INTEGRATED_TIME = 1767225600  # 2026-01-01T00:00:00Z
ORIGIN = "rekor.test.nebsign - 1"
NOTE_NAME = "rekor.test.nebsign"
ARTIFACT = bytes(range(256)) * 16  # 4 KiB, fixed


def keys() -> dict[str, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey]:
    out: dict[str, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey] = {
        name: ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        for name, seed in ED25519_SEEDS.items()
    }
    for name, scalar in P256_SCALARS.items():
        out[name] = ec.derive_private_key(scalar, ec.SECP256R1())
    return out


def _sign_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _v2_body(bundle: Bundle, signer_der: bytes) -> dict[str, object]:
    """A Rekor v2 (0.0.2) canonicalized body for *bundle*: hashedrekord or dsse."""
    verifier = {"publicKey": {"rawBytes": _b64(signer_der)}, "keyDetails": "PKIX_ED25519"}
    content = bundle.content
    if content.__class__.__name__ == "MessageSignature":
        spec: dict[str, object] = {
            "hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": _b64(content.digest)},  # type: ignore[union-attr]
                "signature": {"content": _b64(content.signature), "verifier": verifier},
            }
        }
        kind = "hashedrekord"
    else:
        payload_hash = hashlib.sha256(content.payload).digest()  # type: ignore[union-attr]
        spec = {
            "dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": _b64(payload_hash)},
                "signatures": [{"content": _b64(content.signature), "verifier": verifier}],
            }
        }
        kind = "dsse"
    return {"apiVersion": "0.0.2", "kind": kind, "spec": spec}


def test_log_entry(
    rekor: ec.EllipticCurvePrivateKey,
    bundle: Bundle,
    signer_pem: bytes,
    *,
    version: str = "0.0.1",
    signer_der: bytes = b"",
) -> dict[str, object]:
    """An entry at index 1 of a two-leaf test log: hashedrekord v0.0.1 (Rekor v1, with a
    signed entry timestamp) or, with *version* 0.0.2, a Rekor v2 entry (inclusion proof
    and checkpoint only) of a message signature or a DSSE envelope."""
    if version == "0.0.2":
        doc = _v2_body(bundle, signer_der)
    else:
        assert bundle.content.__class__.__name__ == "MessageSignature"
        digest = bundle.content.digest  # type: ignore[union-attr]
        doc = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
                "signature": {
                    "content": _b64(bundle.content.signature),
                    "publicKey": {"content": _b64(signer_pem)},
                },
            },
        }
    body = rfc8785.dumps(doc)
    log_id = hashlib.sha256(public_key_der(rekor.public_key())).digest()
    other = hashlib.sha256(b"\x00" + b"an earlier entry").digest()
    leaf = hashlib.sha256(b"\x00" + body).digest()
    root = hashlib.sha256(b"\x01" + other + leaf).digest()
    note = f"{ORIGIN}\n2\n{_b64(root)}\n"
    note_sig = _sign_ecdsa(rekor, note.encode())
    checkpoint = f"{note}\n\u2014 {NOTE_NAME} {_b64(log_id[:4] + note_sig)}\n"
    entry: dict[str, object] = {
        "logIndex": "1",
        "logId": {"keyId": _b64(log_id)},
        "kindVersion": {"kind": doc["kind"], "version": version},
        "inclusionProof": {
            "logIndex": "1",
            "rootHash": _b64(root),
            "treeSize": "2",
            "hashes": [_b64(other)],
            "checkpoint": {"envelope": checkpoint},
        },
        "canonicalizedBody": _b64(body),
    }
    if version == "0.0.1":
        set_payload = rfc8785.dumps(
            {
                "body": _b64(body),
                "integratedTime": INTEGRATED_TIME,
                "logID": log_id.hex(),
                "logIndex": 1,
            }
        )
        entry["integratedTime"] = str(INTEGRATED_TIME)
        entry["inclusionPromise"] = {"signedEntryTimestamp": _b64(_sign_ecdsa(rekor, set_payload))}
    return entry


def test_trusted_root(rekor: ec.EllipticCurvePrivateKey) -> bytes:
    der = public_key_der(rekor.public_key())
    root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [
            {
                "baseUrl": "https://rekor.test.nebsign.invalid",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(der),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": "2020-01-01T00:00:00Z"},
                },
                "logId": {"keyId": _b64(hashlib.sha256(der).digest())},
            }
        ],
        "certificateAuthorities": [],
        "ctlogs": [],
        "timestampAuthorities": [],
    }
    return (json.dumps(root, indent=2, sort_keys=True) + "\n").encode()


def _with_entry(bundle: Bundle, entry: dict[str, object]) -> Bundle:
    raw = json.loads(bundle.to_json())
    raw["verificationMaterial"]["tlogEntries"] = [entry]
    return Bundle.from_json(rfc8785.dumps(raw))


def _pem_toml(name: str, pub: bytes, kid: str) -> str:
    return f'[[keys]]\n# {name}\nid = "{kid}"\npem = """\n{pub.decode()}"""\n'


def generate(out: Path) -> list[Path]:
    """Write every asset under *out*; return the paths written (sorted)."""
    written: list[Path] = []

    def put(rel: str, data: bytes) -> None:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    ks = keys()
    pubs = {n: public_key_pem(k.public_key()) for n, k in ks.items()}
    ids = {n: key_id(k.public_key()) for n, k in ks.items()}
    for name, key in ks.items():
        put(f"keys/{name}.key", private_key_pem(key, None))
        put(f"keys/{name}.pub", pubs[name])
    put("keys/ids.json", (json.dumps(ids, indent=2, sort_keys=True) + "\n").encode())

    put("artifact.bin", ARTIFACT)
    digest = hashlib.sha256(ARTIFACT).hexdigest()
    bundles = {name: sign_digest(digest, key) for name, key in ks.items()}
    for name, bundle in bundles.items():
        put(f"artifact.bin.{name}.sigstore.json", bundle.to_json())

    rekor = ec.derive_private_key(REKOR_SCALAR, ec.SECP256R1())
    put("tlog/trusted_root.json", test_trusted_root(rekor))
    entry = test_log_entry(rekor, bundles["ed25519-a"], pubs["ed25519-a"])
    put("artifact.bin.tlog.sigstore.json", _with_entry(bundles["ed25519-a"], entry).to_json())
    der_a = public_key_der(ks["ed25519-a"].public_key())
    v2 = test_log_entry(rekor, bundles["ed25519-a"], b"", version="0.0.2", signer_der=der_a)
    put("artifact.bin.tlog-v2.sigstore.json", _with_entry(bundles["ed25519-a"], v2).to_json())

    release = out / "release"
    for rel, data in {
        "app/main.py": b"print('hello')\n",
        "config/app.toml": b'name = "demo"\n',
        "dist/demo-1.0.0.tar.gz": bytes(range(200)),
    }.items():
        put(f"release/{rel}", data)
    manifest = build_manifest(release, name="demo", version="1.0.0")
    put("release.json", manifest.to_json())
    mdigest = hashlib.sha256(manifest.to_json()).hexdigest()
    put("release.json.sigstore.json", sign_digest(mdigest, ks["ed25519-a"]).to_json())

    sast = Statement(
        (Subject("artifact.bin", digest),),
        SAST_V1,
        {
            "verdict": "pass",
            "policy": "sha256:" + "0" * 64,
            "tools": {"bandit": "1.9.4"},
            "findings": [],
        },
    )
    put("sast.statement.json", sast.to_json())
    sast_bundle = sign_statement(sast, ks["ed25519-a"])
    put("sast.sigstore.json", sast_bundle.to_json())
    v2_dsse = test_log_entry(rekor, sast_bundle, b"", version="0.0.2", signer_der=der_a)
    put("sast.tlog-v2.sigstore.json", _with_entry(sast_bundle, v2_dsse).to_json())
    prov = Statement(
        (Subject("artifact.bin", digest),),
        SLSA_PROVENANCE_V1,
        {"buildDefinition": {"buildType": "https://nebsign.dev/build/v1"}, "runDetails": {}},
    )
    put("provenance.sigstore.json", sign_statement(prov, ks["p256-a"]).to_json())

    pin = {n: hashlib.sha256(p).hexdigest() for n, p in pubs.items()}
    abc = "".join(_pem_toml(n, pubs[n], ids[n]) for n in ("ed25519-a", "ed25519-b", "ed25519-c"))
    put("policy-2-of-3.toml", f"version = 1\nthreshold = 2\n\n{abc}".encode())
    put(
        "policy-any-of.toml",
        (
            'version = 1\n\n[[any_of]]\nname = "release key"\n'
            f'keys = [{{ id = "{ids["p256-a"]}", path = "keys/p256-a.pub", '
            f'sha256 = "{hashlib.sha256(pubs["p256-a"]).hexdigest()}" }}]\n\n'
            '[[any_of]]\nname = "two maintainers"\nthreshold = 2\n'
            f'keys = [{{ path = "keys/ed25519-b.pub", sha256 = "{pin["ed25519-b"]}" }},\n'
            f'        {{ path = "keys/ed25519-c.pub", sha256 = "{pin["ed25519-c"]}" }}]\n'
        ).encode(),
    )
    root_sha = hashlib.sha256(test_trusted_root(rekor)).hexdigest()
    put(
        "policy-tlog.toml",
        (
            "version = 1\nrequire_tlog = true\n\n"
            + _pem_toml("ed25519-a", pubs["ed25519-a"], ids["ed25519-a"])
            + f'\n[sigstore]\ntrusted_root = "tlog/trusted_root.json"\nsha256 = "{root_sha}"\n'
        ).encode(),
    )
    put(
        "policy-expired.toml",
        (
            "version = 1\n\n"
            + _pem_toml("ed25519-a", pubs["ed25519-a"], ids["ed25519-a"])
            + 'not_after = "2026-06-01T00:00:00Z"\n'
        ).encode(),
    )
    put(
        "policy-attest.toml",
        (
            "version = 1\n"
            f'required_predicates = ["{SAST_V1}", "{SLSA_PROVENANCE_V1}"]\n\n'
            + _pem_toml("ed25519-a", pubs["ed25519-a"], ids["ed25519-a"])
            + _pem_toml("p256-a", pubs["p256-a"], ids["p256-a"])
        ).encode(),
    )
    return sorted(written)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "golden"
    paths = generate(out)
    print(f"wrote {len(paths)} files under {out}")


if __name__ == "__main__":
    main()
